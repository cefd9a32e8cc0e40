#!/usr/bin/env node
// In-memory stand-in for the stockdash API contract, serving frontend/dist with
// an SPA fallback. For frontend development and for running the e2e scenario
// before the real backend has every route: `E2E_BACKEND=mock npm run e2e`.
// Standalone: node e2e/mock-backend.mjs [port]
import { createServer } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FRONTEND } from './lib.mjs';

const UNIVERSE = [
  ['AAPL', 'Apple Inc.', 'Technology'], ['MSFT', 'Microsoft Corporation', 'Technology'], ['KO', 'The Coca-Cola Company', 'Consumer Staples'],
  ['JNJ', 'Johnson & Johnson', 'Health Care'], ['JPM', 'JPMorgan Chase & Co.', 'Financials'], ['XOM', 'Exxon Mobil Corporation', 'Energy'],
  ['WMT', 'Walmart Inc.', 'Consumer Staples'], ['PG', 'Procter & Gamble Co.', 'Consumer Staples'], ['V', 'Visa Inc.', 'Financials'],
  ['NVDA', 'NVIDIA Corporation', 'Technology'], ['GOOGL', 'Alphabet Inc.', 'Communication'], ['AMZN', 'Amazon.com Inc.', 'Consumer Discretionary'],
  ['META', 'Meta Platforms Inc.', 'Communication'], ['PFE', 'Pfizer Inc.', 'Health Care'], ['CVX', 'Chevron Corporation', 'Energy'],
  ['T', 'AT&T Inc.', 'Communication'], ['VZ', 'Verizon Communications', 'Communication'], ['IBM', 'International Business Machines', 'Technology'],
  ['LLY', 'Eli Lilly and Company', 'Health Care'], ['MU', 'Micron Technology', 'Technology'], ['AMD', 'Advanced Micro Devices', 'Technology'],
];
const TIERS = {
  free: { tier: 'free', name: 'Free', max_stocks: 5, models: ['basic'], price_label: '$0' },
  pro: { tier: 'pro', name: 'Pro', max_stocks: 10, models: ['basic', 'warren_buffett', 'peter_lynch'], price_label: '$9 / month' },
  expert: { tier: 'expert', name: 'Expert', max_stocks: 20, models: ['basic', 'warren_buffett', 'peter_lynch', 'dcf_math'], price_label: '$19 / month' },
};
const ALL_MODELS = ['basic', 'warren_buffett', 'peter_lynch', 'dcf_math'];
const REQUIRED = { basic: 'free', warren_buffett: 'pro', peter_lynch: 'pro', dcf_math: 'expert' };

function rng(seed) {
  let h = 2166136261;
  for (const c of seed) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return () => {
    h = Math.imul(h ^ (h >>> 15), 2246822507);
    h = Math.imul(h ^ (h >>> 13), 3266489909);
    return ((h ^= h >>> 16) >>> 0) / 4294967296;
  };
}

function bars(symbol, n = 260) {
  const r = rng(symbol);
  let p = 50 + r() * 300;
  const out = [];
  const d = new Date(Date.UTC(2025, 0, 2));
  while (out.length < n) {
    d.setUTCDate(d.getUTCDate() + 1);
    if (d.getUTCDay() === 0 || d.getUTCDay() === 6) continue;
    const o = p;
    p = Math.max(5, p * (1 + (r() - 0.48) * 0.04));
    out.push({ date: d.toISOString().slice(0, 10), open: +o.toFixed(2), high: +(Math.max(o, p) * (1 + r() * 0.01)).toFixed(2), low: +(Math.min(o, p) * (1 - r() * 0.01)).toFixed(2), close: +p.toFixed(2), volume: Math.round(1e6 + r() * 5e7) });
  }
  return out;
}

function quote(symbol) {
  const [, name, sector] = UNIVERSE.find((u) => u[0] === symbol);
  const b = bars(symbol);
  const last = b.at(-1), prev = b.at(-2);
  const r = rng(symbol + 'q');
  return {
    symbol, name, sector, industry: sector, price: last.close, change: +(last.close - prev.close).toFixed(2),
    change_percent: +(((last.close - prev.close) / prev.close) * 100).toFixed(2), volume: last.volume,
    market_cap: Math.round(5e10 + r() * 2e12), pe_ratio: +(8 + r() * 40).toFixed(2),
    week52_high: Math.max(...b.map((x) => x.high)), week52_low: Math.min(...b.map((x) => x.low)),
    as_of: last.date, source: 'demo', stale: false,
  };
}

function analysis(symbol, user, overrides = {}) {
  const allowed = TIERS[user.tier].models;
  const analyses = {};
  for (const m of ALL_MODELS.filter((m) => allowed.includes(m))) {
    const r = rng(symbol + m + JSON.stringify(overrides));
    const score = Math.round(r() * 100);
    analyses[m] = {
      model: m, score, signal: score >= 65 ? 'bullish' : score <= 35 ? 'bearish' : 'neutral', confidence: +(0.5 + r() * 0.5).toFixed(2),
      summary: `${symbol} scores ${score}/100 on the ${m} checklist.`, reasoning: `Demo reasoning for ${symbol}.\nEach factor contributes points.`,
      factors: ['Return on equity', 'Debt to equity', 'Earnings growth'].map((name) => {
        const max = 10; const pts = Math.round(r() * max);
        return { name, value: +(r() * 2).toFixed(3), benchmark: 0.15, points: pts, max_points: max, explanation: `${name} vs benchmark` };
      }),
      inputs_as_of: '2025-12-31', methodology_version: '1.0',
    };
  }
  const scores = Object.values(analyses).map((a) => a.score);
  const avg = scores.reduce((a, b) => a + b, 0) / (scores.length || 1);
  return {
    symbol, as_of: new Date().toISOString(), analyses,
    locked_models: ALL_MODELS.filter((m) => !allowed.includes(m)).map((m) => ({ model: m, required_tier: REQUIRED[m] })),
    consensus: scores.length ? { score: Math.round(avg), signal: avg >= 65 ? 'bullish' : avg <= 35 ? 'bearish' : 'neutral', agreement: 0.7 } : null,
  };
}

export function createMockServer({ performance = process.env.MOCK_PERFORMANCE === '1' } = {}) {
  const users = new Map(); // username → user
  const tokens = new Map(); // token → username
  let nextId = 1;
  const pub = (u) => ({
    id: u.id, username: u.username, email: u.email, subscription_tier: u.tier, max_stocks: TIERS[u.tier].max_stocks,
    allowed_models: TIERS[u.tier].models, role: 'user', is_active: true, email_verified: false, created_at: u.created_at,
  });
  const err = (res, status, code, message, details = null) => send(res, status, { error: { code, message, details } });
  const send = (res, status, body) => {
    res.writeHead(status, body === undefined ? {} : { 'Content-Type': 'application/json' });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  const dist = join(FRONTEND, 'dist');
  const TYPES = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json' };

  return createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const p = url.pathname;
    let raw = '';
    for await (const c of req) raw += c;
    const json = () => { try { return JSON.parse(raw || '{}'); } catch { return {}; } };
    if (p === '/readyz' || p === '/healthz') return send(res, 200, { status: 'ready' });
    if (!p.startsWith('/api/v1/')) {
      const file = resolve(dist, '.' + p);
      if (p !== '/' && file.startsWith(dist) && existsSync(file) && statSync(file).isFile()) {
        res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
        return res.end(readFileSync(file));
      }
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end(readFileSync(join(dist, 'index.html')));
    }
    const route = p.slice('/api/v1'.length);
    const m = req.method;
    if (m === 'POST' && route === '/auth/register') {
      const b = json();
      if (!b.username || !b.email || (b.password ?? '').length < 8) return err(res, 422, 'validation_error', 'Password must be at least 8 characters.');
      if (users.has(b.username)) return err(res, 409, 'conflict', 'That username or email is already registered.');
      const u = { id: nextId++, username: b.username, email: b.email, password: b.password, tier: 'free', watchlist: [], created_at: new Date().toISOString() };
      users.set(u.username, u);
      return send(res, 201, pub(u));
    }
    if (m === 'POST' && route === '/auth/login') {
      const f = new URLSearchParams(raw);
      const u = [...users.values()].find((x) => (x.username === f.get('username') || x.email === f.get('username')) && x.password === f.get('password'));
      if (!u) return err(res, 401, 'invalid_credentials', 'Incorrect username or password.');
      const t = `tok-${u.id}-${Math.random().toString(36).slice(2)}`;
      tokens.set(t, u.username);
      return send(res, 200, { access_token: t, token_type: 'bearer', expires_in: 3600 });
    }
    if (route === '/subscriptions/tiers') return send(res, 200, { data: Object.values(TIERS), count: 3 });
    if (route === '/models/performance') {
      if (!performance) return err(res, 404, 'not_found', 'No backtest results yet: run `stockdash backtest`.');
      const models = ALL_MODELS.map((model) => {
        const r = rng(model + 'perf');
        let v = 1;
        const equity_curve = bars(model, 120).map((b) => ({ date: b.date, value: +(v *= 1 + (r() - 0.47) * 0.02).toFixed(4) }));
        return { model, rank_ic: +(r() * 0.1 - 0.02).toFixed(3), hit_rate: +(0.45 + r() * 0.15).toFixed(3), top_quintile_return: +(r() * 0.2).toFixed(3), universe_return: 0.08, excess_return: +(r() * 0.2 - 0.08).toFixed(3), sharpe: +(r() * 2).toFixed(2), sortino: +(r() * 3).toFixed(2), max_drawdown: -(0.1 + r() * 0.2).toFixed(3), equity_curve };
      });
      return send(res, 200, { source: 'demo backtest', generated_at: new Date().toISOString(), note: 'Demo figures.', models });
    }
    if (route.startsWith('/stocks/search')) {
      const q = (url.searchParams.get('q') ?? '').toLowerCase();
      const data = UNIVERSE.filter(([s, n]) => s.toLowerCase().startsWith(q) || n.toLowerCase().includes(q)).slice(0, Number(url.searchParams.get('limit') ?? 8))
        .map(([symbol, name, sector]) => ({ symbol, name, exchange: 'NYSE', sector }));
      return send(res, 200, { data, count: data.length });
    }
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const user = users.get(tokens.get(token));
    if (!user) return err(res, 401, 'unauthorized', 'Not authenticated.');
    if (route === '/users/me') return send(res, 200, pub(user));
    if (m === 'PUT' && route === '/subscriptions/me') {
      const tier = json().tier;
      if (!TIERS[tier]) return err(res, 422, 'validation_error', 'Unknown tier.');
      const excess = user.watchlist.length - TIERS[tier].max_stocks;
      if (excess > 0) return err(res, 409, 'watchlist_over_limit', `Remove ${excess} stock${excess > 1 ? 's' : ''} from your watchlist before switching to ${TIERS[tier].name} (limit ${TIERS[tier].max_stocks}).`, { remove: excess });
      user.tier = tier;
      return send(res, 200, pub(user));
    }
    if (route === '/watchlist' && m === 'GET') return send(res, 200, { data: user.watchlist, count: user.watchlist.length, max_stocks: TIERS[user.tier].max_stocks });
    if (route === '/watchlist' && m === 'POST') {
      const symbol = String(json().symbol ?? '').toUpperCase();
      if (!UNIVERSE.some((u) => u[0] === symbol)) return err(res, 404, 'unknown_symbol', `Unknown symbol ${symbol}.`);
      if (user.watchlist.some((w) => w.symbol === symbol)) return err(res, 409, 'duplicate', `${symbol} is already on your watchlist.`);
      const max = TIERS[user.tier].max_stocks;
      if (user.watchlist.length >= max) return err(res, 403, 'watchlist_limit_reached', `Your ${TIERS[user.tier].name} plan allows ${max} stocks. Upgrade to add more.`);
      const item = { symbol, added_at: new Date().toISOString() };
      user.watchlist.push(item);
      return send(res, 201, item);
    }
    const del = route.match(/^\/watchlist\/([^/]+)$/);
    if (del && m === 'DELETE') {
      user.watchlist = user.watchlist.filter((w) => w.symbol !== decodeURIComponent(del[1]).toUpperCase());
      return send(res, 204);
    }
    if (route === '/dashboard') {
      await new Promise((r) => setTimeout(r, 150)); // let the watchlist paint first
      const data = user.watchlist.map((w) => ({ ...w, quote: quote(w.symbol), analysis: analysis(w.symbol, user), sparkline: bars(w.symbol).slice(-30).map((b) => b.close) }));
      return send(res, 200, { data, count: data.length, max_stocks: TIERS[user.tier].max_stocks });
    }
    const st = route.match(/^\/stocks\/([^/]+)(\/(history|fundamentals|analysis))?$/);
    if (st) {
      const symbol = decodeURIComponent(st[1]).toUpperCase();
      if (!UNIVERSE.some((u) => u[0] === symbol)) return err(res, 404, 'unknown_symbol', `Unknown symbol ${symbol}.`);
      if (!st[3]) return send(res, 200, quote(symbol));
      if (st[3] === 'history') {
        const n = { '1m': 21, '3m': 63, '6m': 126, '1y': 252, '5y': 260, max: 260 }[url.searchParams.get('range') ?? '1y'] ?? 252;
        return send(res, 200, { symbol, source: 'demo', bars: bars(symbol).slice(-n) });
      }
      if (st[3] === 'fundamentals') {
        const r = rng(symbol + 'f');
        const data = [2025, 2024, 2023].map((y) => ({ fiscal_year: y, period_end: `${y}-12-31`, revenue: 1e11 * (1 + r()), gross_profit: 4e10, operating_income: 3e10, net_income: 2e10, eps_diluted: +(2 + r() * 5).toFixed(2), operating_cash_flow: 2.5e10, capital_expenditure: -5e9, free_cash_flow: 2e10, total_debt: 1e10, cash: 3e10, shareholders_equity: 6e10, shares_outstanding: 5e9, dividends_per_share: null }));
        return send(res, 200, { symbol, source: 'demo', currency: 'USD', data, count: data.length });
      }
      const o = Object.fromEntries([...url.searchParams].filter(([k]) => ['discount_rate', 'terminal_growth', 'growth'].includes(k)));
      return send(res, 200, analysis(symbol, user, o));
    }
    return err(res, 404, 'not_found', 'Not found.');
  });
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const port = Number(process.argv[2] ?? 8000);
  createMockServer().listen(port, '127.0.0.1', () => console.log(`mock stockdash API on http://127.0.0.1:${port}`));
}

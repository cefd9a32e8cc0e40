#!/usr/bin/env node
// Writes a hand-written OpenAPI document matching the API contract to
// frontend/openapi.json. Only needed until the backend's real schema is
// dumped there (`make client`); then the real one replaces it.
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, '..', 'openapi.json');

// Schema names get `prefix` so a merge into the backend's schema can't collide.
export function contractDocument(prefix = '') {
const ref = (name) => ({ $ref: `#/components/schemas/${prefix}${name}` });
const nullable = (schema) => ({ anyOf: [schema, { type: 'null' }] });
const num = { type: 'number' };
const str = { type: 'string' };
const int = { type: 'integer' };
const obj = (properties, required = Object.keys(properties)) => ({ type: 'object', properties, required });
const json = (schema) => ({ content: { 'application/json': { schema } } });
const ok = (schema, status = '200') => ({ [status]: { description: 'OK', ...json(schema) } });
const errors = (...codes) =>
  Object.fromEntries(codes.map((c) => [String(c), { description: 'Error', ...json(ref('ErrorResponse')) }]));
const pathParam = (name) => ({ name, in: 'path', required: true, schema: str });
const queryParam = (name, schema, required = false) => ({ name, in: 'query', required, schema });

const schemas = {
  ErrorResponse: obj({ error: obj({ code: str, message: str, details: {} }, ['code', 'message']) }),
  RegisterRequest: obj({ username: str, email: str, password: { type: 'string', minLength: 8 } }),
  LoginForm: obj({ username: str, password: str, scope: str, grant_type: nullable(str) }, ['username', 'password']),
  Token: obj({ access_token: str, token_type: str, expires_in: int }),
  User: obj({
    id: int, username: str, email: str,
    subscription_tier: { type: 'string', enum: ['free', 'pro', 'expert'] },
    max_stocks: int, allowed_models: { type: 'array', items: str }, role: str,
    is_active: { type: 'boolean' }, email_verified: { type: 'boolean' }, created_at: str,
  }),
  Tier: obj({ tier: str, name: str, max_stocks: int, models: { type: 'array', items: str }, price_label: nullable(str) },
    ['tier', 'name', 'max_stocks', 'models']),
  TierList: obj({ data: { type: 'array', items: ref('Tier') }, count: int }),
  TierUpdate: obj({ tier: str }),
  WatchlistItem: obj({ symbol: str, added_at: str }),
  WatchlistAdd: obj({ symbol: str }),
  Watchlist: obj({ data: { type: 'array', items: ref('WatchlistItem') }, count: int, max_stocks: int }),
  SearchResult: obj({ symbol: str, name: str, exchange: nullable(str), sector: nullable(str) }),
  SearchResults: obj({ data: { type: 'array', items: ref('SearchResult') }, count: int }),
  Stock: obj({
    symbol: str, name: str, sector: nullable(str), industry: nullable(str), price: nullable(num), change: nullable(num),
    change_percent: nullable(num), volume: nullable(num), market_cap: nullable(num), pe_ratio: nullable(num),
    eps: nullable(num), dividend_yield: nullable(num), exchange: nullable(str),
    week52_high: nullable(num), week52_low: nullable(num), as_of: nullable(str), source: str, stale: { type: 'boolean' },
  }, ['symbol', 'name', 'price', 'change', 'change_percent', 'as_of', 'source', 'stale']),
  Bar: obj({ date: str, open: nullable(num), high: nullable(num), low: nullable(num), close: num, volume: nullable(num) }),
  History: obj({ symbol: str, source: str, bars: { type: 'array', items: ref('Bar') } }),
  FundamentalsYear: obj(Object.fromEntries([
    ['fiscal_year', int], ['period_end', nullable(str)],
    ...['revenue', 'gross_profit', 'operating_income', 'net_income', 'eps_diluted', 'operating_cash_flow',
      'capital_expenditure', 'free_cash_flow', 'total_debt', 'cash', 'shareholders_equity', 'shares_outstanding',
      'dividends_per_share'].map((k) => [k, nullable(num)]),
  ])),
  Fundamentals: obj({ symbol: str, source: str, currency: str, data: { type: 'array', items: ref('FundamentalsYear') }, count: int }),
  Factor: obj({ name: str, value: {}, benchmark: {}, points: num, max_points: num, explanation: str }),
  AnalystResult: obj({
    model: str, score: num, signal: { type: 'string', enum: ['bullish', 'neutral', 'bearish'] }, confidence: num,
    summary: str, reasoning: str, factors: { type: 'array', items: ref('Factor') }, inputs_as_of: nullable(str),
    methodology_version: str,
  }),
  LockedModel: obj({ model: str, required_tier: str }),
  Consensus: obj({ score: num, signal: str, agreement: num }),
  MultiAIAnalysis: obj({
    symbol: str, as_of: nullable(str),
    analyses: { type: 'object', additionalProperties: ref('AnalystResult') },
    locked_models: { type: 'array', items: ref('LockedModel') },
    consensus: nullable(ref('Consensus')),
  }),
  DashboardItem: obj({
    symbol: str, added_at: str, quote: nullable(ref('Stock')), analysis: nullable(ref('MultiAIAnalysis')),
    sparkline: { type: 'array', items: num },
  }),
  Dashboard: obj({ data: { type: 'array', items: ref('DashboardItem') }, count: int, max_stocks: int }),
  EquityPoint: obj({ date: str, value: num }),
  ModelPerformance: obj({
    model: str, rank_ic: nullable(num), hit_rate: nullable(num), top_quintile_return: nullable(num),
    universe_return: nullable(num), excess_return: nullable(num), sharpe: nullable(num), sortino: nullable(num),
    max_drawdown: nullable(num), equity_curve: { type: 'array', items: ref('EquityPoint') },
  }),
  Performance: obj({ source: str, generated_at: str, note: nullable(str), models: { type: 'array', items: ref('ModelPerformance') } }),
};

const P = '/api/v1';
const paths = {
  [`${P}/auth/register`]: { post: { operationId: 'register', requestBody: { required: true, ...json(ref('RegisterRequest')) }, responses: { ...ok(ref('User'), '201'), ...errors(409, 422) } } },
  [`${P}/auth/login`]: { post: { operationId: 'login', requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: ref('LoginForm') } } }, responses: { ...ok(ref('Token')), ...errors(401, 422) } } },
  [`${P}/users/me`]: { get: { operationId: 'me', responses: { ...ok(ref('User')), ...errors(401) } } },
  [`${P}/subscriptions/tiers`]: { get: { operationId: 'tiers', responses: ok(ref('TierList')) } },
  [`${P}/subscriptions/me`]: { put: { operationId: 'changeTier', requestBody: { required: true, ...json(ref('TierUpdate')) }, responses: { ...ok(ref('User')), ...errors(401, 409, 422) } } },
  [`${P}/watchlist`]: {
    get: { operationId: 'watchlist', responses: { ...ok(ref('Watchlist')), ...errors(401) } },
    post: { operationId: 'addToWatchlist', requestBody: { required: true, ...json(ref('WatchlistAdd')) }, responses: { ...ok(ref('WatchlistItem'), '201'), ...errors(401, 403, 404, 409) } },
  },
  [`${P}/watchlist/{symbol}`]: { delete: { operationId: 'removeFromWatchlist', parameters: [pathParam('symbol')], responses: { 204: { description: 'Removed' }, ...errors(401, 404) } } },
  [`${P}/stocks/search`]: { get: { operationId: 'search', parameters: [queryParam('q', str, true), queryParam('limit', int)], responses: ok(ref('SearchResults')) } },
  [`${P}/stocks/{symbol}`]: { get: { operationId: 'stock', parameters: [pathParam('symbol')], responses: { ...ok(ref('Stock')), ...errors(404) } } },
  [`${P}/stocks/{symbol}/history`]: { get: { operationId: 'history', parameters: [pathParam('symbol'), queryParam('range', { type: 'string', enum: ['1m', '3m', '6m', '1y', '5y', 'max'] })], responses: { ...ok(ref('History')), ...errors(404) } } },
  [`${P}/stocks/{symbol}/fundamentals`]: { get: { operationId: 'fundamentals', parameters: [pathParam('symbol')], responses: { ...ok(ref('Fundamentals')), ...errors(404) } } },
  [`${P}/stocks/{symbol}/analysis`]: { get: { operationId: 'analysis', parameters: [pathParam('symbol'), queryParam('discount_rate', num), queryParam('terminal_growth', num), queryParam('growth', num)], responses: { ...ok(ref('MultiAIAnalysis')), ...errors(401, 404) } } },
  [`${P}/dashboard`]: { get: { operationId: 'dashboard', responses: { ...ok(ref('Dashboard')), ...errors(401) } } },
  [`${P}/models/performance`]: { get: { operationId: 'performance', responses: { ...ok(ref('Performance')), ...errors(404) } } },
};

return {
  openapi: '3.1.0',
  info: { title: 'stockdash (contract stand-in)', version: '0.0.0' },
  paths,
  components: { schemas: Object.fromEntries(Object.entries(schemas).map(([k, v]) => [prefix + k, v])) },
};
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(out, JSON.stringify(contractDocument(), null, 2) + '\n');
  console.log(`wrote ${out}`);
}

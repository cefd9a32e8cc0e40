#!/usr/bin/env node
// Frontend budget: gzipped JS of the initial route, and "dashboard with 20
// stocks interactive" timed in headless Chromium against the real backend.
// Prints a markdown table and writes bench/last-run.json.
// Usage: npm run bench  (builds first). SKIP_TIMING=1 measures size only.
import { execSync } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { apiCall, FRONTEND, launchBrowser, startBackend } from '../e2e/lib.mjs';

const DIST = join(FRONTEND, 'dist');
const BUDGET_KB = 350;
const SYMBOLS = ['AAPL', 'MSFT', 'KO', 'JNJ', 'JPM', 'XOM', 'WMT', 'PG', 'V', 'NVDA', 'GOOGL', 'AMZN', 'META', 'PFE', 'CVX', 'T', 'VZ', 'IBM', 'LLY', 'MU'];
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

if (!existsSync(join(DIST, 'index.html')) || process.env.BENCH_BUILD === '1') {
  execSync('npm run build', { cwd: FRONTEND, stdio: 'inherit' });
}

/** Entry scripts + modulepreloads from index.html, then their static imports, transitively. */
export function initialJs(distDir) {
  const html = readFileSync(join(distDir, 'index.html'), 'utf8');
  const roots = new Set();
  for (const m of html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g)) roots.add(m[1]);
  for (const m of html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)) roots.add(m[1]);
  const seen = new Set();
  const queue = [...roots].map((u) => join(distDir, u.replace(/^\//, '')));
  while (queue.length) {
    const file = queue.pop();
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const src = readFileSync(file, 'utf8');
    // static `import … from "./x.js"` / `import "./x.js"` (not dynamic import("…"))
    for (const m of src.matchAll(/(?:\bfrom|\bimport)\s*["']([^"']+\.js)["']/g)) {
      queue.push(resolve(dirname(file), m[1]));
    }
  }
  const files = [...seen].map((f) => {
    const buf = readFileSync(f);
    return { file: f.slice(distDir.length + 1), raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length };
  });
  const css = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)].map((m) => {
    const buf = readFileSync(join(distDir, m[1].replace(/^\//, '')));
    return { file: m[1].replace(/^\//, ''), raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length };
  });
  return { files, css };
}

async function timeDashboard() {
  const backend = await startBackend({ logName: 'bench-backend.log' });
  const browser = await launchBrowser();
  try {
    const u = `bench${Date.now().toString(36)}`;
    const reg = await apiCall(backend.base, 'POST', '/auth/register', { body: { username: u, email: `${u}@example.com`, password: 'bench-password-1' } });
    if (reg.status !== 201) throw new Error(`register: ${reg.status}`);
    const login = await apiCall(backend.base, 'POST', '/auth/login', { form: { username: u, password: 'bench-password-1' } });
    const token = login.data?.access_token;
    if (!token) throw new Error(`login: ${login.status}`);
    const up = await apiCall(backend.base, 'PUT', '/subscriptions/me', { token, body: { tier: 'expert' } });
    if (up.status !== 200) throw new Error(`upgrade to expert: ${up.status}`);
    for (const s of SYMBOLS) {
      const r = await apiCall(backend.base, 'POST', '/watchlist', { token, body: { symbol: s } });
      if (r.status !== 201 && r.status !== 409) throw new Error(`add ${s}: ${r.status} ${JSON.stringify(r.data)}`);
    }
    const dash = await apiCall(backend.base, 'GET', '/dashboard', { token });
    if (dash.status !== 200) throw new Error(`GET /api/v1/dashboard answered ${dash.status}`);

    const times = [];
    const firstPaint = [];
    for (let i = 0; i < RUNS; i++) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.addInitScript((t) => localStorage.setItem('stockdash.token', t), token);
      const page = await context.newPage();
      const t0 = Date.now();
      await page.goto(`${backend.base}/`);
      await page.waitForSelector('[data-testid^="stock-row-"]', { timeout: 60_000 });
      firstPaint.push(Date.now() - t0);
      await page.waitForFunction(
        (n) => {
          const rows = document.querySelectorAll('[data-testid^="stock-row-"][data-loaded="true"]');
          return rows.length === n && document.querySelectorAll('[data-testid="consensus-score"]').length === n;
        },
        SYMBOLS.length,
        { timeout: 120_000 },
      );
      times.push(Date.now() - t0);
      await context.close();
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    return {
      stocks: SYMBOLS.length,
      runs: times,
      median_ms: median(times),
      cards_painted_runs: firstPaint,
      cards_painted_median_ms: median(firstPaint),
    };
  } finally {
    await browser.close();
    await backend.stop();
  }
}

const { files, css } = initialJs(DIST);
const jsGzip = files.reduce((a, f) => a + f.gzip, 0);
const jsRaw = files.reduce((a, f) => a + f.raw, 0);
let timing = null;
let timingError = null;
if (!process.env.SKIP_TIMING) {
  try {
    timing = await timeDashboard();
  } catch (err) {
    timingError = String(err?.message ?? err);
  }
}

const kb = (n) => (n / 1024).toFixed(1);
const result = {
  generated_at: new Date().toISOString(),
  initial_route_js: { files, raw_bytes: jsRaw, gzip_bytes: jsGzip, budget_gzip_kb: BUDGET_KB, within_budget: jsGzip / 1024 <= BUDGET_KB },
  initial_route_css: { files: css, gzip_bytes: css.reduce((a, f) => a + f.gzip, 0) },
  dashboard_20_stocks: timing ?? { error: timingError ?? 'skipped' },
};
writeFileSync(join(FRONTEND, 'bench', 'last-run.json'), JSON.stringify(result, null, 2) + '\n');

const rows = [
  ['Initial-route JS (gzip)', `${kb(jsGzip)} kB (${files.length} files, ${kb(jsRaw)} kB raw)`, `≤ ${BUDGET_KB} kB`, result.initial_route_js.within_budget ? 'pass' : 'FAIL'],
  ['Initial-route CSS (gzip)', `${kb(result.initial_route_css.gzip_bytes)} kB`, '—', '—'],
  timing
    ? ['Dashboard, 20 stocks, to all cards scored', `median ${timing.median_ms} ms (runs: ${timing.runs.join(', ')} ms)`, '—', 'measured']
    : null,
  timing
    ? ['Dashboard, 20 stocks, to cards painted (from /watchlist)', `median ${timing.cards_painted_median_ms} ms (runs: ${timing.cards_painted_runs.join(', ')} ms)`, '—', 'measured']
    : ['Dashboard, 20 stocks, to all cards scored', `not measured: ${timingError ?? 'skipped'}`, '—', '—'],
];
console.log('\n| Metric | Value | Budget | Result |\n| --- | --- | --- | --- |');
for (const r of rows.filter(Boolean)) console.log(`| ${r.join(' | ')} |`);
console.log(`\n(saved bench/last-run.json)`);
if (!result.initial_route_js.within_budget) process.exit(1);

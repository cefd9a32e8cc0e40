#!/usr/bin/env node
// End-to-end scenario against the real backend serving the built frontend.
// Nothing is mocked: a real `stockdash serve` on a temp SQLite database, the
// offline market-data snapshot, Debian's Chromium.
// Usage: npm run e2e   (builds first)   — or node e2e/run.mjs after a build.
// Env: KEEP_E2E_TMP=1 keeps the temp DB/logs.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiCall, FRONTEND, launchBrowser, REPO, runCli, startBackend, waitForChartPaint, waitForEmailLink } from './lib.mjs';

const SHOTS = join(REPO, 'docs', 'screenshots');
const FIRST_FIVE = ['AAPL', 'MSFT', 'KO', 'JNJ', 'JPM'];
const SIXTH = 'XOM';
const T = { timeout: 30_000 };

// API errors this scenario provokes on purpose are declared right before the
// action (status, method, path). Each may happen once and must happen; any other
// API error response, and any other console error, fails the run. Chromium logs
// every error response as "Failed to load resource: ... status of N".
const RESOURCE_ERROR = /^Failed to load resource: the server responded with a status of (\d{3})\b/;
const expectedApiErrors = [];
function expectApiError(status, method, path) {
  expectedApiErrors.push({ status, method, path, response: false, console: false });
}

const results = [];
let failed = false;
let currentPage = null;

async function step(name, fn) {
  if (failed) {
    results.push({ name, status: 'skipped' });
    console.log(`- ${name} (skipped)`);
    return;
  }
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, status: 'passed', ms: Date.now() - t0 });
    console.log(`✓ ${name} (${Date.now() - t0} ms)`);
  } catch (err) {
    failed = true;
    results.push({ name, status: 'failed', error: String(err?.message ?? err) });
    await currentPage?.screenshot({ path: join(FRONTEND, 'e2e', 'artifacts', 'failure.png'), fullPage: true }).catch(() => undefined);
    console.log(`    at ${currentPage?.url() ?? '?'}; screenshot: e2e/artifacts/failure.png`);
    console.log(`✗ ${name}\n    ${String(err?.message ?? err).split('\n').join('\n    ')}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

/** The first symbol (of a broad search) whose history has closes but no OHLC, or null. */
async function findCloseOnlySymbol(base, token) {
  const search = await apiCall(base, 'GET', '/stocks/search?q=a&limit=20', { token });
  assert(search.status === 200, `search answered ${search.status}`);
  for (const { symbol } of search.data.data) {
    const h = await apiCall(base, 'GET', `/stocks/${encodeURIComponent(symbol)}/history?range=1y`, { token });
    if (h.status !== 200 || h.data.bars.length < 2) continue;
    if (h.data.bars.every((b) => b.open === null && b.high === null && b.low === null)) return symbol;
  }
  return null;
}

/** The id of `username`, looked up through the admin API with the signed-in admin's token. */
async function userId(page, base, username) {
  const token = await page.evaluate(() => localStorage.getItem('stockdash.token'));
  const list = await apiCall(base, 'GET', `/admin/users?q=${encodeURIComponent(username)}`, { token });
  const hit = list.data?.data?.find((u) => u.username === username);
  assert(hit, `admin search did not find ${username}: ${list.status}`);
  return hit.id;
}

async function main() {
  mkdirSync(SHOTS, { recursive: true });
  mkdirSync(join(FRONTEND, 'e2e', 'artifacts'), { recursive: true });
  // PUBLIC_BASE_URL left unset: the emailed links must follow `serve --port` (issue 17, point 3).
  const backend = await startBackend({ env: { PUBLIC_BASE_URL: null } });
  console.log(`backend at ${backend.base}`);
  const browser = await launchBrowser();
  const consoleErrors = [];
  const apiFailures = [];
  const unexpectedApiErrors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    currentPage = page;
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const url = msg.location()?.url ?? '';
      const status = Number(RESOURCE_ERROR.exec(msg.text())?.[1]);
      const path = url ? new URL(url).pathname : '';
      const e = expectedApiErrors.find((x) => !x.console && x.status === status && x.path === path);
      if (e) {
        e.console = true;
        return;
      }
      consoleErrors.push(`${msg.text()} ${url ? `(${url})` : ''}`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`));
    page.on('response', (r) => {
      if (!r.url().includes('/api/v1/') || r.status() < 400) return;
      const method = r.request().method();
      const path = new URL(r.url()).pathname;
      const seen = `${r.status()} ${method} ${path}`;
      apiFailures.push(seen);
      const e = expectedApiErrors.find((x) => !x.response && x.status === r.status() && x.method === method && x.path === path);
      if (e) e.response = true;
      else unexpectedApiErrors.push(seen);
    });

    const user = `e2e${Date.now().toString(36)}`;
    const password = 'correct-horse-9';
    const counter = page.getByTestId('watchlist-counter');
    const shot = async (name) => {
      // Toasts are transient: clear them so screenshots show the page.
      await page.evaluate(() => document.querySelectorAll('[data-testid="toasts"] button').forEach((b) => b.click()));
      await page.waitForFunction(() => !document.querySelector('[data-testid="toasts"] .toast'));
      for (const theme of ['light', 'dark']) {
        const current = await page.evaluate(() => document.documentElement.dataset.theme);
        if (current !== theme) await page.getByTestId('theme-toggle').click();
        await page.waitForFunction((t) => document.documentElement.dataset.theme === t, theme);
        await page.waitForTimeout(250); // charts repaint with the theme's colours
        await page.screenshot({ path: join(SHOTS, `${name}-${theme}.png`), fullPage: true });
      }
      await page.getByTestId('theme-toggle').click();
      await page.waitForFunction(() => document.documentElement.dataset.theme === 'light');
    };

    // Responsive: at 375 px wide nothing may scroll sideways (tables scroll in their own box).
    const checkMobile = async (name) => {
      await page.setViewportSize({ width: 375, height: 812 });
      await page.waitForTimeout(200);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      await page.screenshot({ path: join(FRONTEND, 'e2e', 'artifacts', `${name}-375.png`), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 900 });
      assert(overflow <= 0, `${name} overflows horizontally by ${overflow}px at 375px`);
    };

    const addViaSearch = async (symbol) => {
      const input = page.getByTestId('symbol-search');
      await input.waitFor({ state: 'visible', ...T });
      await page.waitForFunction(() => !document.querySelector('[data-testid="symbol-search"]')?.disabled, null, T);
      await input.fill(symbol);
      const option = page.getByTestId(`search-option-${symbol}`);
      await option.waitFor({ state: 'visible', ...T });
      await input.press('ArrowDown');
      // Highlight the exact match with the keyboard, then Enter.
      for (let i = 0; i < 8; i++) {
        if ((await option.getAttribute('aria-selected')) === 'true') break;
        await input.press('ArrowDown');
      }
      await input.press('Enter');
    };

    await step('sign up', async () => {
      await page.goto(`${backend.base}/register`);
      await page.getByLabel('Username').fill(user);
      await page.getByLabel('Email').fill(`${user}@example.com`);
      await page.getByLabel('Password').fill(password);
      await page.getByTestId('register-submit').click();
      await page.waitForURL(`${backend.base}/`, T);
    });

    await step('dashboard empty state', async () => {
      await page.getByTestId('empty-watchlist').waitFor(T);
      await page.getByText('0 / 5').waitFor(T);
    });

    await step(`add 5 stocks via search (${FIRST_FIVE.join(', ')})`, async () => {
      for (const [i, s] of FIRST_FIVE.entries()) {
        await addViaSearch(s);
        await page.getByTestId(`stock-row-${s}`).waitFor(T);
        await page.waitForFunction((n) => document.querySelector('[data-testid="watchlist-counter"]')?.textContent === `${n} / 5`, i + 1, T);
      }
    });

    await step('6th stock blocked with the upgrade prompt', async () => {
      await page.getByTestId('upgrade-prompt').waitFor(T);
      expectApiError(403, 'POST', '/api/v1/watchlist');
      await addViaSearch(SIXTH);
      await page.getByTestId('toast-error').first().waitFor(T);
      assert((await counter.textContent()) === '5 / 5', `counter should stay 5 / 5, is ${await counter.textContent()}`);
      assert((await page.getByTestId(`stock-row-${SIXTH}`).count()) === 0, `${SIXTH} should not be added`);
      assert(apiFailures.some((f) => f.startsWith('403 POST')), `expected a 403 from POST /watchlist, saw: ${apiFailures.join(', ')}`);
    });

    await step('upgrade to pro on Plans', async () => {
      await page.getByTestId('upgrade-link').click();
      await page.waitForURL(/\/plans$/, T);
      await page.getByTestId('choose-plan-pro').click();
      await page.getByTestId('plan-pro').getByTestId('current-plan').waitFor(T);
    });

    await step(`add the 6th (${SIXTH})`, async () => {
      await page.getByRole('link', { name: 'Dashboard' }).click();
      await addViaSearch(SIXTH);
      await page.getByTestId(`stock-row-${SIXTH}`).waitFor(T);
      await page.waitForFunction(() => document.querySelector('[data-testid="watchlist-counter"]')?.textContent === '6 / 10', null, T);
    });

    await step('dashboard fills in quotes and scores (screenshots)', async () => {
      await page.waitForFunction(
        () => {
          const rows = [...document.querySelectorAll('[data-testid^="stock-row-"]')];
          return rows.length === 6 && rows.every((r) => r.getAttribute('data-loaded') === 'true');
        },
        null,
        { timeout: 60_000 },
      );
      const scores = await page.getByTestId('consensus-score').count();
      assert(scores === 6, `expected 6 consensus scores, saw ${scores}`);
      await shot('dashboard');
      await checkMobile('dashboard');
    });

    await step('live: a refresh reaches the open dashboard without reload; an alert lands in the bell', async () => {
      await page.evaluate(() => {
        window.__e2eNoReload = true;
      });
      await page.waitForFunction(() => document.querySelector('[data-testid="live-status"]')?.dataset.status === 'live', null, T);
      const token = await page.evaluate(() => localStorage.getItem('stockdash.token'));
      const alert = await apiCall(backend.base, 'POST', '/alerts', { token, body: { symbol: 'AAPL', kind: 'price_above', threshold: 1 } });
      assert(alert.status === 201, `creating the alert answered ${alert.status}: ${JSON.stringify(alert.data)}`);
      // An operator's "refresh now" (the schedule would do the same, later).
      const admin = `live${Date.now().toString(36)}`;
      await runCli(backend, ['create-admin', '--email', `${admin}@example.com`, '--username', admin, '--password', 'admin-pass-123']);
      const login = await apiCall(backend.base, 'POST', '/auth/login', { form: { username: admin, password: 'admin-pass-123' } });
      assert(login.status === 200, `admin login answered ${login.status}`);
      const run = await apiCall(backend.base, 'POST', '/admin/jobs/refresh', { token: login.data.access_token });
      assert(run.status === 202, `refresh now answered ${run.status}: ${JSON.stringify(run.data)}`);
      // The update arrives on the open page: the AAPL row is highlighted and refetched.
      await page.locator('[data-testid="stock-row-AAPL"][data-live="updated"]').waitFor({ timeout: 90_000 });
      // The alert fired: a toast, and the bell counts it.
      await page.getByTestId('toast-info').filter({ hasText: 'AAPL rose to' }).first().waitFor({ timeout: 60_000 });
      await page.waitForFunction(() => document.querySelector('[data-testid="bell-count"]')?.textContent === '1', null, T);
      assert(await page.evaluate(() => window.__e2eNoReload === true), 'the page was reloaded');
      await page.getByTestId('bell').click();
      const item = page.getByTestId('bell-item').first();
      await item.waitFor(T);
      assert(/AAPL rose to/.test((await item.textContent()) ?? ''), 'the bell should list the alert');
      await page.screenshot({ path: join(FRONTEND, 'e2e', 'artifacts', 'bell.png') });
      await page.getByTestId('read-all').click();
      await page.getByTestId('bell-count').waitFor({ state: 'detached', ...T });
      await page.keyboard.press('Escape');
      await page.getByTestId('bell-panel').waitFor({ state: 'detached', ...T });
    });

    await step('stock page: candlesticks painted, 3 analysts, DCF locked (screenshots)', async () => {
      await page.getByTestId('stock-row-AAPL').getByTestId('stock-link').click();
      await page.waitForURL(/\/stocks\/AAPL$/, T);
      await page.getByTestId('price-chart').locator('canvas').first().waitFor(T);
      // AAPL has daily OHLCV: candles in both colours, read back from the canvas pixels.
      const paint = await waitForChartPaint(page, (p) => p.kind === 'candles' && p.up > 200 && p.down > 200);
      console.log(`    1Y candles painted: ${paint.up} up / ${paint.down} down px, ${paint.painted} of ${paint.pixels} px non-blank`);
      await page.getByTestId('analyst-panel-basic').waitFor(T);
      const panels = await page.locator('[data-testid^="analyst-panel-"]').count();
      assert(panels === 3, `expected 3 analyst panels, saw ${panels}`);
      await page.getByTestId('analyst-locked-dcf_math').waitFor(T);
      // Factor values are shown in their units, informational factors without points.
      const buffett = page.getByTestId('analyst-panel-warren_buffett');
      const values = await buffett.locator('[data-testid="factor-row"] .factor-value').allTextContents();
      assert(values.some((v) => /%$/.test(v.trim())), `expected percent-formatted factor values, saw ${values.join(' | ')}`);
      assert(!values.some((v) => /^-?\d+\.\d{3,}$/.test(v.trim())), `raw fractions in factor values: ${values.join(' | ')}`);
      // Only the value cell: an explanation may itself contain a fraction (Blume's "2/3 x beta").
      const infoPoints = await buffett.locator('[data-testid="factor-info-row"] dd').allTextContents();
      assert(infoPoints.every((t) => !/\d\/\d/.test(t)), `informational factors must not show points: ${infoPoints.join(' | ')}`);
      await page.getByTestId('range-1m').click();
      const month = await waitForChartPaint(page, (p) => p.kind === 'candles' && p.up > 50 && p.down > 50);
      assert(month.up + month.down > 0, '1M range painted nothing');
      await page.getByTestId('range-1y').click();
      await waitForChartPaint(page, (p) => p.kind === 'candles' && p.up > 200 && p.down > 200);
      await page.getByTestId('fundamentals-table').or(page.getByText(/No fundamentals/)).first().waitFor(T);
      const stats = (await page.getByTestId('key-stats').textContent()) ?? '';
      assert(!stats.includes('—'), `key stats show a dash for a missing value: ${stats}`);
      await shot('stock');
      await checkMobile('stock');
    });

    await step('a close-only symbol draws a line (skipped if the data has none)', async () => {
      const token = await page.evaluate(() => localStorage.getItem('stockdash.token'));
      const symbol = await findCloseOnlySymbol(backend.base, token);
      if (!symbol) {
        console.log('    no close-only symbol among the first search results of this snapshot: line check not run');
        return;
      }
      await page.goto(`${backend.base}/stocks/${symbol}`);
      await page.getByTestId('price-chart').locator('canvas').first().waitFor(T);
      const paint = await waitForChartPaint(page, (p) => p.kind === 'line' && p.line > 100);
      assert(paint.up + paint.down < paint.line / 10, `close-only ${symbol} should draw a line, not candles: ${JSON.stringify(paint)}`);
      console.log(`    ${symbol}: line painted (${paint.line} px)`);
      await page.goto(`${backend.base}/`);
      await page.getByTestId('watchlist-counter').waitFor(T);
    });

    await step('downgrade to free refused while over the limit (409 message shown)', async () => {
      await page.getByRole('link', { name: 'Plans' }).click();
      expectApiError(409, 'PUT', '/api/v1/subscriptions/me');
      await page.getByTestId('choose-plan-free').click();
      const err = page.getByTestId('plan-error');
      await err.waitFor(T);
      const text = (await err.innerText()) ?? '';
      assert(/Can't switch to Free yet/.test(text) && /You track 6 stocks and the Free plan allows 5/.test(text), `plan error: ${text}`);
      assert(apiFailures.some((f) => f.startsWith('409 PUT')), `expected a 409 from PUT /subscriptions/me, saw: ${apiFailures.join(', ')}`);
      await page.getByTestId('plan-pro').getByTestId('current-plan').waitFor(T);
      console.log(`    server said: ${text.trim()}`);
      await shot('plans');
      await checkMobile('plans');
    });

    await step('performance page (charts or the backtest empty state) and account page', async () => {
      await page.getByRole('link', { name: 'Performance' }).click();
      await page.getByTestId('performance-page').or(page.getByTestId('performance-empty')).first().waitFor(T);
      if (await page.getByTestId('performance-page').count()) {
        await page.getByTestId('equity-chart').locator('canvas').first().waitFor(T);
      }
      await checkMobile('performance');
      await page.getByRole('link', { name: 'Account' }).click();
      await page.getByTestId('account-page').locator('dd', { hasText: `${user}@example.com` }).waitFor(T);
      await checkMobile('account');
    });

    const newPassword = 'battery-staple-42';
    const email = `${user}@example.com`;
    const logIn = async (name, pw) => {
      await page.locator('#login-username').fill(name);
      await page.locator('#login-password').fill(pw);
      await page.getByTestId('login-submit').click();
      // Back to where the session ended (e.g. /admin) or the dashboard.
      await page.waitForURL((u) => !u.pathname.startsWith('/login'), T);
    };

    await step('verify email: banner, resend, link from the outbox (banner disappears)', async () => {
      const t0 = Date.now() - 2000;
      const banner = page.getByTestId('verify-banner');
      await banner.waitFor(T);
      await page.getByTestId('verify-resend').click();
      await page.getByTestId('toast-success').first().waitFor(T);
      const link = new URL(await waitForEmailLink(backend.outbox, email, 'verify-email', { after: t0 }));
      // No PUBLIC_BASE_URL was configured: the link points at the port this server was started on, as is.
      assert(link.origin === backend.base, `the email links to ${link.origin}, the server is at ${backend.base}`);
      await page.goto(link.href);
      await page.getByTestId('verify-success').waitFor(T);
      await page.getByRole('link', { name: 'Go to the dashboard' }).click();
      await page.getByTestId('watchlist-counter').waitFor(T);
      await page.getByTestId('verify-banner').waitFor({ state: 'detached', ...T });
    });

    await step('log out', async () => {
      await page.getByTestId('logout').click();
      await page.waitForURL(/\/login$/, T);
      const token = await page.evaluate(() => localStorage.getItem('stockdash.token'));
      assert(token === null, 'token should be cleared');
    });

    await step('forgot password → reset link from the outbox → reset → log in with the new password', async () => {
      const t0 = Date.now() - 2000;
      await page.getByTestId('forgot-link').click();
      await page.waitForURL(/\/forgot-password$/, T);
      await page.getByLabel('Email').fill(email);
      await page.getByTestId('forgot-submit').click();
      await page.getByTestId('forgot-sent').waitFor(T);
      const link = new URL(await waitForEmailLink(backend.outbox, email, 'reset-password', { after: t0 }));
      assert(link.origin === backend.base, `the reset email links to ${link.origin}, the server is at ${backend.base}`);
      await page.goto(link.href);
      await page.getByLabel('New password', { exact: true }).fill(newPassword);
      await page.getByLabel('Confirm new password').fill(newPassword);
      await page.getByTestId('reset-submit').click();
      await page.getByTestId('reset-done').waitFor(T);
      await page.getByTestId('reset-login-link').click();
      await page.waitForURL(/\/login$/, T);
      await logIn(user, newPassword);
      await page.getByTestId('watchlist-counter').waitFor(T);
    });

    await step('account: API key shown once, listed by prefix, revoked; /admin is 403 for users', async () => {
      await page.getByRole('link', { name: 'Account' }).click();
      await page.getByTestId('account-page').waitFor(T);
      await page.getByLabel('Key name').fill('e2e script');
      await page.getByTestId('api-key-create').click();
      const secret = ((await page.getByTestId('api-key-secret-value').textContent()) ?? '').trim();
      assert(secret.length >= 16, `secret looks wrong: ${JSON.stringify(secret)}`);
      const check = await fetch(`${backend.base}/api/v1/watchlist`, { headers: { 'X-API-Key': secret } });
      assert(check.ok, `the new key should authenticate, got ${check.status}`);
      await page.getByTestId('api-key-done').click();
      const row = page.locator('[data-testid^="api-key-row-"]');
      await row.first().waitFor(T);
      assert(!((await page.content()).includes(secret)), 'the secret must not be shown again');
      page.once('dialog', (d) => void d.accept());
      await row.first().getByRole('button', { name: 'Revoke' }).click();
      await page.getByTestId('api-keys-empty').waitFor(T);
      assert((await page.getByTestId('nav-admin').count()) === 0, 'non-admins must not see the Admin link');
      await page.goto(`${backend.base}/admin`);
      await page.getByTestId('admin-forbidden').waitFor(T);
      await page.getByTestId('logout').click();
      await page.waitForURL(/\/login$/, T);
    });

    await step('admin: create-admin CLI, log in, search the e2e user, 409 shown inline (screenshots)', async () => {
      const admin = `adm${Date.now().toString(36)}`;
      await runCli(backend, ['create-admin', '--email', `${admin}@example.com`, '--username', admin, '--password', 'admin-pass-123']);
      await logIn(admin, 'admin-pass-123');
      await page.getByTestId('nav-admin').click();
      await page.waitForURL(/\/admin$/, T);
      await page.getByTestId('admin-page').waitFor(T);
      await page.getByTestId('admin-stats').waitFor(T);
      await page.getByTestId(`admin-user-row-${admin}`).waitFor(T);
      await page.getByTestId('admin-search').fill(user);
      await page.getByTestId(`admin-user-row-${user}`).waitFor(T);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid^="admin-user-row-"]').length === 1, null, T);
      // The e2e user tracks 6 stocks: Free (5) is refused with a 409 whose message is toasted.
      expectApiError(409, 'PATCH', `/api/v1/admin/users/${await userId(page, backend.base, user)}`);
      page.once('dialog', (d) => void d.accept()); // admin changes are confirmed first
      await page.getByTestId(`admin-tier-${user}`).selectOption('free');
      const toastText = ((await page.getByTestId('toast-error').first().locator('p').textContent({ timeout: 30_000 })) ?? '').trim();
      assert(toastText.length > 0, 'expected the 409 message in a toast');
      assert(apiFailures.some((f) => f.startsWith('409 PATCH')), `expected a 409 from PATCH /admin/users, saw: ${apiFailures.join(', ')}`);
      console.log(`    server said: ${toastText}`);
      await page.waitForFunction((u) => document.querySelector(`[data-testid="admin-tier-${u}"]`)?.value === 'pro', user, T);
      await page.getByTestId('admin-filter-tier').selectOption('pro');
      await page.getByTestId(`admin-user-row-${user}`).waitFor(T);
      await shot('admin');
      await checkMobile('admin');
      await page.getByTestId('logout').click();
      await page.waitForURL(/\/login$/, T);
    });

    await step('no console errors, no unexpected API errors, every expected one seen', async () => {
      assert(consoleErrors.length === 0, `console errors:\n${consoleErrors.join('\n')}`);
      assert(unexpectedApiErrors.length === 0, `unexpected API errors: ${unexpectedApiErrors.join(', ')}`);
      const missing = expectedApiErrors.filter((e) => !e.response).map((e) => `${e.status} ${e.method} ${e.path}`);
      assert(missing.length === 0, `expected API errors that did not happen: ${missing.join(', ')}`);
      console.log(`    expected API errors seen: ${expectedApiErrors.map((e) => `${e.status} ${e.method} ${e.path}`).join(', ')}`);
    });
    await context.close();
  } finally {
    await browser.close();
    if (failed) {
      console.log(`API failures seen: ${apiFailures.join(', ') || 'none'}`);
      try {
        const log = readFileSync(backend.logPath, 'utf8').split('\n').slice(-30).join('\n');
        console.log(`--- backend log (tail) ---\n${log}`);
      } catch {
        /* ignore */
      }
    }
    await backend.stop();
  }
  const passed = results.filter((r) => r.status === 'passed').length;
  const failedN = results.filter((r) => r.status === 'failed').length;
  const skipped = results.filter((r) => r.status === 'skipped').length;
  console.log(`\n${passed} passed, ${failedN} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(failedN ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  console.log('\n0 passed, 1 failed');
  process.exit(1);
});

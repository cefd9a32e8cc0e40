#!/usr/bin/env node
// UX end-to-end (issue 17) against the real backend serving the built frontend:
// accessibility (axe-core) on every main page in light and dark mode at desktop and
// phone sizes, honest error states made by stopping the real server (Retry brings the
// data back once it is up again), the offline PWA shell, the sortable/filterable
// dashboard table with CSV export, undo, confirmations, shortcuts and onboarding.
// Usage: npm run e2e (builds first, runs run.mjs then this) — or node e2e/ux.mjs after a build.
import { AxeBuilder } from '@axe-core/playwright';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiCall, FRONTEND, launchBrowser, REPO, runCli, startBackend } from './lib.mjs';

const SHOTS = join(REPO, 'docs', 'screenshots');
const ARTIFACTS = join(FRONTEND, 'e2e', 'artifacts');
const T = { timeout: 30_000 };
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };
// Expert's 20: the symbols the snapshot prices (checked below through the API).
const TWENTY = ['AAPL', 'MSFT', 'KO', 'JNJ', 'JPM', 'XOM', 'NVDA', 'AMZN', 'GOOGL', 'META', 'PG', 'V', 'MA', 'HD', 'PEP', 'COST', 'WMT', 'MRK', 'CVX', 'ABBV'];

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
    results.push({ name, status: 'passed' });
    console.log(`✓ ${name} (${Date.now() - t0} ms)`);
  } catch (err) {
    failed = true;
    results.push({ name, status: 'failed' });
    await currentPage?.screenshot({ path: join(ARTIFACTS, 'ux-failure.png'), fullPage: true }).catch(() => undefined);
    console.log(`✗ ${name}\n    at ${currentPage?.url() ?? '?'}; screenshot: e2e/artifacts/ux-failure.png\n    ${String(err?.stack ?? err).split('\n').join('\n    ')}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const axeRuns = [];

/** axe-core on the current page: any serious or critical violation fails, with what and where. */
async function axe(page, label) {
  // Skeletons and lazy chunks: check the page once it has settled.
  await page.waitForFunction(() => !document.querySelector('[aria-busy="true"], .skeleton'), null, T).catch(() => undefined);
  const res = await new AxeBuilder({ page }).analyze();
  const bad = res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  axeRuns.push({ label, violations: res.violations.length, bad: bad.length, ids: res.violations.map((v) => `${v.id} (${v.impact})`) });
  assert(
    bad.length === 0,
    `axe (${label}): ${bad
      .map((v) => `${v.impact} ${v.id} ×${v.nodes.length}: ${v.help}\n      ${v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')} — ${n.failureSummary?.split('\n').slice(1, 2).join(' ')}`).join('\n      ')}`)
      .join('\n    ')}`,
  );
}

async function setTheme(page, theme) {
  const current = await page.evaluate(() => document.documentElement.dataset.theme);
  if (current !== theme) await page.getByTestId('theme-toggle').click();
  await page.waitForFunction((t) => document.documentElement.dataset.theme === t, theme);
}

/** axe in light and dark, at desktop and phone sizes; no sideways scrolling on the phone. */
async function axeEverywhere(page, label, { shots } = {}) {
  for (const [size, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ]) {
    await page.setViewportSize(viewport);
    for (const theme of ['light', 'dark']) {
      await setTheme(page, theme);
      await axe(page, `${label} ${size} ${theme}`);
      if (shots && size === 'phone') {
        await page.evaluate(() => window.scrollTo(0, 0));
        await page.waitForTimeout(250); // charts repaint with the theme's colours
        await page.screenshot({ path: join(SHOTS, `${shots}-phone-${theme}.png`), fullPage: false });
      }
    }
    if (size === 'phone') {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert(overflow <= 0, `${label} scrolls sideways by ${overflow}px at ${viewport.width}px`);
    }
  }
  await page.setViewportSize(DESKTOP);
  await setTheme(page, 'light');
}

async function titleIs(page, re) {
  await page.waitForFunction((src) => new RegExp(src).test(document.title), re.source, T);
}

async function main() {
  mkdirSync(SHOTS, { recursive: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  let backend = await startBackend({ logName: 'ux-backend.log' });
  console.log(`backend at ${backend.base}`);
  const base = backend.base;
  const browser = await launchBrowser();
  const pageErrors = [];
  try {
    const context = await browser.newContext({ viewport: DESKTOP, colorScheme: 'light', acceptDownloads: true });
    const page = await context.newPage();
    currentPage = page;
    page.on('pageerror', (err) => pageErrors.push(err.message));

    const user = `ux${Date.now().toString(36)}`;
    const password = 'correct-horse-9';
    let token = null;
    const logIn = async (name, pw) => {
      await page.locator('#login-username').fill(name);
      await page.locator('#login-password').fill(pw);
      await page.getByTestId('login-submit').click();
      await page.waitForURL((u) => !u.pathname.startsWith('/login'), T);
    };

    await step('first visit: the login page says what stockdash is; titled; skip link; axe clean', async () => {
      await page.goto(`${base}/`);
      await page.waitForURL(/\/login$/, T);
      await page.getByTestId('product-intro').waitFor(T);
      const intro = await page.getByTestId('product-intro').innerText();
      assert(/S&P 500/.test(intro) && /Warren Buffett/.test(intro), `intro: ${intro}`);
      await titleIs(page, /^Log in · stockdash$/);
      await page.keyboard.press('Tab');
      assert((await page.evaluate(() => document.activeElement?.textContent)) === 'Skip to content', 'the first Tab should reach the skip link');
      await axeEverywhere(page, 'login');
    });

    const free = `uxfree${Date.now().toString(36)}`;
    await step('Free plan: the stock page with locked analysts is axe clean', async () => {
      const reg = await apiCall(base, 'POST', '/auth/register', { body: { username: free, email: `${free}@example.com`, password } });
      assert(reg.status === 201 || reg.status === 200, `register: ${reg.status}`);
      await logIn(free, password);
      await page.goto(`${base}/stocks/AAPL`);
      await page.getByTestId('analyst-locked-dcf_math').waitFor(T);
      await page.getByTestId('price-chart').locator('canvas').first().waitFor(T);
      await axeEverywhere(page, 'stock (free, locked analysts)');
      await page.getByTestId('logout').click();
      await page.waitForURL(/\/login$/, T);
      await page.goto(`${base}/login`); // a fresh login page: the next user starts at the dashboard
    });

    await step('sign up (API), Expert plan, 20 stocks; log in through the page', async () => {
      const reg = await apiCall(base, 'POST', '/auth/register', { body: { username: user, email: `${user}@example.com`, password } });
      assert(reg.status === 201 || reg.status === 200, `register: ${reg.status} ${JSON.stringify(reg.data)}`);
      const login = await apiCall(base, 'POST', '/auth/login', { form: { username: user, password } });
      token = login.data.access_token;
      const tier = await apiCall(base, 'PUT', '/subscriptions/me', { token, body: { tier: 'expert' } });
      assert(tier.status === 200, `tier: ${tier.status}`);
      for (const symbol of TWENTY) {
        const r = await apiCall(base, 'POST', '/watchlist', { token, body: { symbol } });
        assert(r.status === 201 || r.status === 200, `add ${symbol}: ${r.status} ${JSON.stringify(r.data)}`);
      }
      await logIn(user, password);
      await page.getByTestId('watchlist-counter').waitFor(T);
      await page.waitForFunction(() => document.querySelector('[data-testid="watchlist-counter"]')?.textContent === '20 / 20', null, T);
    });

    await step('dashboard: a table with sortable headers, summary, data age; titled', async () => {
      await titleIs(page, /^Dashboard · stockdash$/);
      await page.getByTestId('watchlist-table').waitFor(T);
      await page.waitForFunction(() => document.querySelector('[data-testid="watchlist"]')?.getAttribute('data-scored') === '20', null, { timeout: 90_000 });
      assert((await page.getByRole('table', { name: /Watchlist/ }).count()) === 1, 'the watchlist is a table for assistive technology');
      assert((await page.getByRole('columnheader').count()) === 6, 'six column headers');
      const summary = page.getByTestId('portfolio-summary');
      await summary.waitFor(T);
      const signals = await page.getByTestId('summary-signals').innerText();
      const counts = [...signals.matchAll(/(\d+)/g)].map((m) => Number(m[1]));
      assert(counts.reduce((a, b) => a + b, 0) === 20, `signal counts should add up to 20: ${signals}`);
      assert(/\d/.test(await page.getByTestId('summary-average').innerText()), 'average consensus shown');
      const asOf = await page.getByTestId('summary-as-of').innerText();
      // The snapshot's prices are months old by now: the page says so, once, not per row.
      assert(/days old/.test(asOf), `data age: ${asOf}`);
      await page.getByTestId('snapshot-note').waitFor(T);
      assert((await page.getByTestId('as-of').count()) === 0, 'rows do not repeat the common as-of');
      assert((await page.getByTestId('trend-30d').count()) > 0, '30-day % beside the sparklines');
    });

    await step('sort by consensus (descending, then ascending), filter by text and signal, reorder by hand', async () => {
      const scores = async () =>
        page.$$eval('[data-testid^="stock-row-"]', (rows) =>
          rows.map((r) => Number(r.querySelector('[data-testid="consensus-score"] .num')?.textContent ?? NaN)),
        );
      await page.getByTestId('sort-consensus').click();
      const header = page.getByRole('columnheader', { name: /Consensus/ });
      assert((await header.getAttribute('aria-sort')) === 'descending', 'aria-sort descending');
      const desc = (await scores()).filter((n) => !Number.isNaN(n));
      assert(desc.length > 1 && desc.every((v, i) => i === 0 || desc[i - 1] >= v), `descending: ${desc}`);
      await page.getByTestId('sort-consensus').click();
      const asc = (await scores()).filter((n) => !Number.isNaN(n));
      assert(asc.every((v, i) => i === 0 || asc[i - 1] <= v), `ascending: ${asc}`);
      await page.getByTestId('watchlist-filter').fill('micro');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid^="stock-row-"]').length === 1, null, T);
      await page.getByTestId('stock-row-MSFT').waitFor(T);
      await page.getByTestId('watchlist-filter').fill('');
      await page.getByTestId('signal-filter').selectOption('bullish');
      const shown = await page.locator('[data-testid^="stock-row-"]').count();
      const bullish = await page.locator('[data-testid="signal"]', { hasText: 'bullish' }).count();
      assert(shown === bullish || (shown === 0 && (await page.getByTestId('filter-empty').count()) === 1), `bullish filter: ${shown} rows, ${bullish} bullish`);
      await page.getByTestId('signal-filter').selectOption('all');
      await page.getByTestId('sort-select').selectOption('order');
      // Reorder by hand (your order): MSFT up one place, kept across a reload.
      const first = () => page.$eval('[data-testid^="stock-row-"]', (r) => r.getAttribute('data-testid'));
      assert((await first()) === 'stock-row-AAPL', `first row: ${await first()}`);
      await page.getByRole('button', { name: 'Move MSFT up' }).click();
      assert((await first()) === 'stock-row-MSFT', `after moving MSFT up: ${await first()}`);
      await page.reload();
      await page.getByTestId('stock-row-MSFT').waitFor(T);
      assert((await first()) === 'stock-row-MSFT', `order kept after reload: ${await first()}`);
      await page.getByRole('button', { name: 'Move AAPL up' }).click();
    });

    await step('CSV export of the watchlist with its scores', async () => {
      const [download] = await Promise.all([page.waitForEvent('download', T), page.getByTestId('export-csv').click()]);
      const text = readFileSync(await download.path(), 'utf8');
      const lines = text.trim().split(/\r?\n/);
      assert(lines[0].startsWith('symbol,name,price,change,change_percent,trend_30d_percent,consensus_score,signal'), `header: ${lines[0]}`);
      assert(lines.length === 21, `20 rows + header, got ${lines.length}`);
      const aapl = lines.find((l) => l.startsWith('AAPL,'));
      const price = (await page.getByTestId('stock-row-AAPL').getByTestId('price').innerText()).replace(/[$,]/g, '');
      assert(aapl && aapl.split(',')[2] === String(Number(price)), `AAPL price in CSV (${aapl}) should match the page (${price})`);
    });

    await step('at 20/20 on Expert, adding says the list is full (no upgrade offer)', async () => {
      await page.getByTestId('symbol-search').fill('IBM');
      await page.getByTestId('search-option-IBM').waitFor(T);
      await page.getByTestId('symbol-search').press('ArrowDown');
      await page.getByTestId('symbol-search').press('Enter');
      const msg = await page.getByTestId('toast-error').first().innerText();
      assert(/full \(20 \/ 20\)/.test(msg) && /Remove a stock/.test(msg) && !/upgrade/i.test(msg), `toast: ${msg}`);
      assert((await page.getByTestId('upgrade-link').count()) === 0, 'no upgrade link on the top plan');
    });

    await step('search says the universe is the S&P 500 and marks stocks already on the list; "/" focuses it', async () => {
      await page.getByTestId('toast-dismiss').first().click();
      await page.locator('body').click({ position: { x: 5, y: 300 } });
      await page.keyboard.press('/');
      await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'symbol-search', null, T);
      assert(/S&P 500/.test((await page.getByTestId('symbol-search').getAttribute('placeholder')) ?? ''), 'placeholder names the S&P 500');
      await page.keyboard.type('AAPL');
      await page.getByTestId('search-option-AAPL').getByTestId('search-tracked').waitFor(T);
      await page.keyboard.press('Escape');
      await page.keyboard.press('Escape');
      await page.locator('body').click({ position: { x: 5, y: 300 } });
      await page.keyboard.press('g');
      await page.keyboard.press('p');
      await page.waitForURL(/\/plans$/, T);
      await titleIs(page, /^Plans · stockdash$/);
      await page.keyboard.press('g');
      await page.keyboard.press('d');
      await page.waitForURL(`${base}/`, T);
    });

    await step('remove a stock, then Undo puts it back', async () => {
      await page.getByTestId('stock-row-KO').getByTestId('remove-stock').click();
      await page.getByTestId('stock-row-KO').waitFor({ state: 'detached', ...T });
      const toast = page.getByTestId('toast-info').filter({ hasText: 'Removed KO' });
      await toast.getByTestId('toast-action').click();
      await page.waitForFunction(() => document.querySelector('[data-testid="watchlist-counter"]')?.textContent === '20 / 20', null, T);
      // Back at the end of the list (rows past the viewport are virtualised): find it with the filter.
      await page.getByTestId('watchlist-filter').fill('KO');
      await page.getByTestId('stock-row-KO').waitFor(T);
      await page.getByTestId('watchlist-filter').fill('');
    });

    await step('dashboard: axe clean, light and dark, desktop and phone (screenshots)', async () => {
      await page.waitForFunction(() => document.querySelector('[data-testid="watchlist"]')?.getAttribute('data-scored') === '20', null, { timeout: 60_000 });
      await axeEverywhere(page, 'dashboard', { shots: 'dashboard' });
    });

    await step('stock page: add/remove button, explained numbers, TTM label, titled; axe clean (screenshots)', async () => {
      await page.getByTestId('stock-row-AAPL').getByTestId('stock-link').click();
      await page.waitForURL(/\/stocks\/AAPL$/, T);
      await titleIs(page, /^AAPL · .+ · stockdash$/);
      const toggle = page.getByTestId('watch-toggle');
      await toggle.waitFor(T);
      assert((await toggle.getAttribute('aria-pressed')) === 'true', 'AAPL is on the list');
      await page.getByTestId('analyst-panel-basic').waitFor(T);
      await page.getByTestId('consensus-explained').click();
      assert(/Agreement/.test(await page.getByTestId('consensus-explained').innerText()), 'agreement explained');
      const stats = await page.getByTestId('key-stats').innerText();
      assert(/EPS \(trailing 12 months\)/.test(stats), `EPS label: ${stats}`);
      await page.getByTestId('price-chart').locator('canvas').first().waitFor(T);
      await axeEverywhere(page, 'stock', { shots: 'stock' });
    });

    await step('stock page: the watch button takes the stock off the list and puts it back', async () => {
      const toggle = page.getByTestId('watch-toggle');
      const tracked = async () => (await apiCall(base, 'GET', '/watchlist', { token })).data.data.map((i) => i.symbol);
      await toggle.click();
      await page.waitForFunction(() => document.querySelector('[data-testid="watch-toggle"]')?.getAttribute('aria-pressed') === 'false', null, T);
      assert(/Add to watchlist/.test(await toggle.innerText()), `button after removing: ${await toggle.innerText()}`);
      assert(!(await tracked()).includes('AAPL'), 'AAPL removed on the server');
      await toggle.click();
      await page.waitForFunction(() => document.querySelector('[data-testid="watch-toggle"]')?.getAttribute('aria-pressed') === 'true', null, T);
      const after = await tracked();
      assert(after.includes('AAPL') && after.length === 20, `AAPL back on a list of 20: ${after.join(',')}`);
    });

    await step("DCF: inputs show the model's own assumptions; an override moves the consensus and survives a reload; Reset", async () => {
      const analysis = async (query = '') => {
        const r = await apiCall(base, 'GET', `/stocks/AAPL/analysis${query}`, { token });
        assert(r.status === 200, `analysis${query}: ${r.status} ${JSON.stringify(r.data)}`);
        return r.data;
      };
      const pct = (v) => String(Math.round(v * 10000) / 100); // as the form shows a fraction
      const factor = (a, name) => a.analyses.dcf_math.factors.find((f) => f.name === name)?.value;
      const baseline = await analysis();
      const model = {
        discount_rate: factor(baseline, 'Discount rate'),
        terminal_growth: factor(baseline, 'Terminal growth'),
        growth: factor(baseline, 'Stage-1 growth'),
      };
      const form = page.getByTestId('dcf-form');
      await form.waitFor(T);
      for (const [key, v] of Object.entries(model)) {
        assert(typeof v === 'number', `the DCF model reports no ${key} for AAPL: ${v}`);
        const shown = await page.getByTestId(`dcf-${key}`).inputValue();
        assert(shown === pct(v), `${key} field shows "${shown}", the model used ${pct(v)}%`);
        const hint = await page.locator(`#dcf-${key}-model`).innerText();
        assert(hint === `model: ${pct(v)}%`, `${key} hint: ${hint}`);
      }
      const consensusText = async () => (await page.getByTestId('stock-consensus-score').locator('.num').innerText()).trim();
      const before = await consensusText();
      assert(before === String(Math.round(baseline.consensus.score)), `consensus ${before} vs API ${baseline.consensus.score}`);
      // A much higher discount rate: the DCF value, hence its score and the consensus, fall.
      const mine = Math.min(30, Math.round(model.discount_rate * 100) + 8);
      const fraction = Math.round(mine * 1000) / 100000;
      const expected = await analysis(`?discount_rate=${fraction}`);
      const want = String(Math.round(expected.consensus.score));
      assert(want !== before, `a ${mine}% discount rate should move the consensus (${before} both ways)`);
      await page.getByTestId('dcf-discount_rate').fill(String(mine));
      await page.getByTestId('dcf-apply').click();
      const note = page.getByTestId('dcf-override-note');
      await note.waitFor(T);
      const dcfBase = baseline.analyses.dcf_math.score;
      assert(note && (await note.innerText()).includes(`was ${dcfBase === null ? 'not rated' : Math.round(dcfBase)}`), `note: ${await note.innerText()}`);
      await page.waitForFunction((w) => document.querySelector('[data-testid="stock-consensus-score"] .num')?.textContent === w, want, T);
      assert(/with your DCF assumptions/.test(await page.getByTestId('stock-consensus').innerText()), 'the consensus says it uses your assumptions');
      assert(new URL(page.url()).searchParams.get('dcf_discount_rate') === String(fraction), `address keeps the override: ${page.url()}`);
      await page.reload();
      await note.waitFor(T);
      assert((await page.getByTestId('dcf-discount_rate').inputValue()) === String(mine), 'the override is still in the form after a reload');
      await page.waitForFunction((w) => document.querySelector('[data-testid="stock-consensus-score"] .num')?.textContent === w, want, T);
      await form.getByRole('button', { name: 'Reset' }).click();
      await note.waitFor({ state: 'detached', ...T });
      await page.waitForFunction((w) => document.querySelector('[data-testid="stock-consensus-score"] .num')?.textContent === w, before, T);
      assert((await page.getByTestId('dcf-discount_rate').inputValue()) === pct(model.discount_rate), 'Reset shows the model default again');
      assert(!new URL(page.url()).searchParams.has('dcf_discount_rate'), `Reset clears the address: ${page.url()}`);
    });

    await step('stock page: the three intrinsic values are shown together against the price and explained', async () => {
      const box = page.getByTestId('intrinsic-values');
      await box.waitFor(T);
      const a = (await apiCall(base, 'GET', '/stocks/AAPL/analysis', { token })).data;
      const value = (model, name) => a.analyses[model].factors.find((f) => f.name === name)?.value;
      const want = {
        buffett: value('warren_buffett', 'Intrinsic value per share'),
        'dcf-base': value('dcf_math', 'Value per share'),
        'dcf-weighted': value('dcf_math', 'Probability-weighted value'),
      };
      for (const [key, v] of Object.entries(want)) {
        const cell = (await box.getByTestId(`intrinsic-${key}`).innerText()).replace(/[$,]/g, '');
        if (typeof v === 'number') assert(Math.abs(Number(cell.match(/-?[\d.]+/)?.[0]) - v) < 0.01, `${key}: page ${cell}, API ${v}`);
        else assert(/not computable/i.test(cell), `${key} has no value in the API and the page says: ${cell}`);
      }
      const text = await box.innerText();
      assert(/vs price/i.test(text) && /compare each with the price/i.test(text), `reconciliation: ${text}`);
      await page.getByTestId('consensus-explained').locator('summary').click();
      const explained = await page.getByTestId('consensus-explained').innerText();
      assert(/Intrinsic values/.test(explained) && /probability-weighted/.test(explained) && /owner earnings/.test(explained), `explained: ${explained}`);
    });

    await step('unknown symbol: a plain sentence, no API path', async () => {
      await page.goto(`${base}/stocks/ZZZZQ`);
      const text = await page.getByTestId('stock-not-found').innerText(T);
      assert(/S&P 500/.test(text) && !/\/api\//.test(text), `not-found text: ${text}`);
      await titleIs(page, /^Unknown symbol · stockdash$/);
    });

    await step('plans, account (phone: API keys fit), performance: titled, axe clean', async () => {
      await page.goto(`${base}/plans`);
      await page.getByTestId('plans').waitFor(T);
      await axeEverywhere(page, 'plans');
      await page.goto(`${base}/account`);
      await page.getByTestId('account-page').waitFor(T);
      await titleIs(page, /^Account · stockdash$/);
      await page.getByLabel('Key name').fill('ux e2e');
      await page.getByTestId('api-key-create').click();
      await page.getByTestId('api-key-done').click();
      await page.locator('[data-testid^="api-key-row-"]').first().waitFor(T);
      await axeEverywhere(page, 'account');
      await page.setViewportSize(PHONE);
      const width = await page.getByTestId('api-keys-table').evaluate((t) => t.getBoundingClientRect().width);
      assert(width <= PHONE.width, `API keys table is ${width}px wide on a ${PHONE.width}px phone`);
      await page.setViewportSize(DESKTOP);
      await page.goto(`${base}/performance`);
      await page.getByTestId('performance-page').or(page.getByTestId('performance-empty')).first().waitFor(T);
      await titleIs(page, /^Performance · stockdash$/);
      await axeEverywhere(page, 'performance');
    });

    await step('performance: the backtest figures are shown and rank IC, hit rate and Sortino explained', async () => {
      // The package ships the backtest of the offline snapshot: the figures, not the empty state.
      await page.getByTestId('performance-page').waitFor(T);
      const explained = page.getByTestId('performance-explained');
      await explained.locator('summary').click();
      const text = await explained.innerText();
      for (const term of [/Rank IC.*rank correlation/s, /Hit rate.*share of months/s, /Sortino.*downside/s]) {
        assert(term.test(text), `performance-explained lacks ${term}: ${text}`);
      }
      const table = await page.getByTestId('performance-table').innerText();
      assert(/Rank IC/i.test(table) && /Hit rate/i.test(table) && /Sortino/i.test(table), `figures table: ${table.slice(0, 300)}`);
    });

    await step('phone: the nav wraps instead of scrolling sideways, the email breaks only at "@", the stock header lines up on the left', async () => {
      await page.goto(`${base}/account`);
      await page.getByTestId('account-page').waitFor(T);
      await page.setViewportSize(PHONE);
      const nav = await page.getByRole('navigation', { name: 'Main' }).evaluate((n) => ({
        scroll: n.scrollWidth - n.clientWidth,
        outside: [...n.querySelectorAll('a')].filter((a) => a.getBoundingClientRect().right > window.innerWidth + 0.5).map((a) => a.textContent),
      }));
      assert(nav.scroll <= 0 && nav.outside.length === 0, `nav on a phone: scrolls ${nav.scroll}px, links off screen: ${nav.outside}`);
      // Each side of the address stays whole: a line may only break between them (at the <wbr> before "@").
      const pieces = await page.locator('.email').first().evaluate((el) =>
        [...el.childNodes]
          .filter((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim())
          .map((n) => {
            const r = document.createRange();
            r.selectNodeContents(n);
            return { text: n.textContent, lines: new Set([...r.getClientRects()].filter((b) => b.width > 0).map((b) => Math.round(b.top))).size };
          }),
      );
      assert(pieces.length === 2 && pieces.every((p) => p.lines === 1), `email pieces and their line counts: ${JSON.stringify(pieces)}`);
      await page.goto(`${base}/stocks/MSFT`);
      await page.getByTestId('stock-price').waitFor(T);
      const head = await page.evaluate(() => {
        const h1 = document.querySelector('.stock-head h1').getBoundingClientRect().left;
        const price = document.querySelector('[data-testid="stock-price"]');
        return { h1, price: price.getBoundingClientRect().left, align: getComputedStyle(price).textAlign };
      });
      assert(Math.abs(head.h1 - head.price) <= 1 && /left|start/.test(head.align), `stock header on a phone: ${JSON.stringify(head)}`);
      await page.setViewportSize(DESKTOP);
    });

    await step('PWA: manifest with icons, service worker controls the page', async () => {
      await page.goto(`${base}/`);
      const manifest = await (await fetch(`${base}/manifest.json`)).json();
      assert(manifest.display === 'standalone' && manifest.icons.some((i) => i.sizes === '512x512'), 'installable manifest');
      await page.waitForFunction(async () => !!(await navigator.serviceWorker.ready).active, null, T);
      await page.reload();
      await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, T);
      await page.waitForFunction(() => document.querySelector('[data-testid="watchlist"]')?.getAttribute('data-scored') === '20', null, { timeout: 60_000 });
    });

    await step('server down: the offline shell opens and shows the last dashboard marked stale; the stock page offers Retry', async () => {
      await backend.stop({ keepDir: true });
      await page.reload();
      const stale = page.getByTestId('dashboard-stale');
      await stale.waitFor({ timeout: 60_000 });
      assert(/Offline: showing your dashboard as last loaded/.test(await stale.innerText()), 'marked as the last loaded copy');
      await page.getByTestId('stock-row-MSFT').waitFor(T);
      assert((await page.getByTestId('no-price').count()) === 0, 'no "No price data" rows when the server is down');
      await page.getByTestId('data-age').waitFor(T);
      // Client-side navigation to a stock page whose data was never loaded.
      await page.getByTestId('stock-row-MSFT').getByTestId('stock-link').click();
      const err = page.getByTestId('stock-error');
      await err.waitFor({ timeout: 60_000 });
      assert(/Can't reach the stockdash server/.test(await err.innerText()), `stock error: ${await err.innerText()}`);
      assert(!/Failed to fetch/.test(await page.locator('main').innerText()), 'no raw "Failed to fetch"');
      await page.getByTestId('history-error').waitFor({ timeout: 60_000 });
    });

    await step('server back: Retry loads the stock page, and the dashboard is live again', async () => {
      backend = await startBackend({ logName: 'ux-backend.log', dir: backend.dir, port: backend.port });
      await page.getByTestId('stock-error').getByTestId('retry').click();
      await page.getByTestId('stock-price').waitFor(T);
      await page.getByTestId('history-error').getByTestId('retry').click();
      await page.getByTestId('price-chart').locator('canvas').first().waitFor(T);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
      const stale = page.getByTestId('dashboard-stale');
      if (await stale.count()) await stale.getByTestId('retry').click();
      await page.waitForFunction(() => !document.querySelector('[data-testid="dashboard-stale"]'), null, { timeout: 60_000 });
      await page.waitForFunction(() => document.querySelector('[data-testid="watchlist"]')?.getAttribute('data-scored') === '20', null, { timeout: 60_000 });
    });

    await step('server down and no saved copy: the dashboard says it cannot reach the server (no empty rows); Retry brings the list back', async () => {
      await backend.stop({ keepDir: true });
      await page.evaluate(() => localStorage.removeItem('stockdash.last.dashboard'));
      await page.reload();
      const err = page.getByTestId('watchlist-error');
      await err.waitFor({ timeout: 60_000 });
      const text = await err.innerText();
      assert(/Could not load your watchlist/.test(text) && /Can't reach the stockdash server/.test(text) && !/Failed to fetch/.test(text), `error: ${text}`);
      assert((await page.locator('[data-testid^="stock-row-"]').count()) === 0 && (await page.getByTestId('no-price').count()) === 0, 'no rows of "no data"');
      backend = await startBackend({ logName: 'ux-backend.log', dir: backend.dir, port: backend.port });
      await err.getByTestId('retry').click();
      await page.waitForFunction(() => document.querySelector('[data-testid="watchlist"]')?.getAttribute('data-scored') === '20', null, { timeout: 60_000 });
      await page.getByTestId('watchlist-error').waitFor({ state: 'detached', ...T });
    });

    await step('a password change elsewhere ends the session: the login page says why', async () => {
      const change = await apiCall(base, 'POST', '/users/me/password', { token, body: { current_password: password, new_password: 'battery-staple-42' } });
      assert(change.status === 204 || change.status === 200, `password change: ${change.status}`);
      await page.goto(`${base}/plans`);
      await page.getByTestId('session-expired').waitFor(T);
      await logIn(user, 'battery-staple-42');
      // Back where the session ended.
      await page.waitForURL(/\/plans$/, T);
      await page.getByTestId('plans').waitFor(T);
    });

    await step('admin: confirmation before changes, none offered on your own row, audit log; axe clean', async () => {
      await page.getByTestId('logout').click();
      await page.waitForURL(/\/login$/, T);
      const admin = `uxadm${Date.now().toString(36)}`;
      await runCli(backend, ['create-admin', '--email', `${admin}@example.com`, '--username', admin, '--password', 'admin-pass-123']);
      await logIn(admin, 'admin-pass-123');
      await page.goto(`${base}/admin`);
      await page.getByTestId('admin-page').waitFor(T);
      await titleIs(page, /^Admin · stockdash$/);
      const own = page.getByTestId(`admin-user-row-${admin}`);
      await own.waitFor(T);
      assert((await own.getByRole('button').count()) === 0, 'no actions on your own row');
      await page.getByTestId('admin-search').fill(user);
      await page.getByTestId(`admin-user-row-${user}`).waitFor(T);
      let asked = '';
      page.once('dialog', (d) => {
        asked = d.message();
        void d.dismiss();
      });
      await page.getByTestId(`admin-active-${user}`).click();
      assert(/^Deactivate /.test(asked), `confirmation asked: ${asked}`);
      assert(!/deactivated/.test(await page.getByTestId(`admin-user-row-${user}`).innerText()), 'still active after Cancel');
      page.once('dialog', (d) => void d.accept());
      await page.getByTestId(`admin-tier-${user}`).selectOption('pro');
      await page.getByTestId('toast-error').or(page.getByTestId('toast-success')).first().waitFor(T);
      await page.getByTestId('admin-audit').waitFor(T);
      // A change that goes through (the Free user has no stocks, so Pro fits) is in the audit log.
      const freeId = (await apiCall(base, 'GET', `/admin/users?q=${free}`, { token: await page.evaluate(() => localStorage.getItem('stockdash.token')) })).data.data.find(
        (u) => u.username === free,
      )?.id;
      assert(typeof freeId === 'number', `admin search for ${free}`);
      await page.getByTestId('admin-search').fill(free);
      await page.getByTestId(`admin-user-row-${free}`).waitFor(T);
      page.once('dialog', (d) => void d.accept());
      await page.getByTestId(`admin-tier-${free}`).selectOption('pro');
      await page.getByTestId('toast-success').first().waitFor(T);
      const entry = page.getByTestId('admin-audit-table').locator('tr', { hasText: `user #${freeId}` });
      await entry.first().waitFor(T);
      const logged = await entry.first().innerText();
      assert(/user\.update/.test(logged) && /"to":"pro"/.test(logged), `audit row: ${logged}`);
      await page.getByTestId('admin-search').fill('');
      await axeEverywhere(page, 'admin');
    });

    await step('downgrade over the limit: choose which stocks to keep, apply; the plan changes and exactly those remain', async () => {
      await page.getByTestId('logout').click();
      await page.waitForURL(/\/login$/, T);
      const keeper = `uxkeep${Date.now().toString(36)}`;
      const reg = await apiCall(base, 'POST', '/auth/register', { body: { username: keeper, email: `${keeper}@example.com`, password } });
      assert(reg.status === 201 || reg.status === 200, `register: ${reg.status}`);
      const ktoken = (await apiCall(base, 'POST', '/auth/login', { form: { username: keeper, password } })).data.access_token;
      assert((await apiCall(base, 'PUT', '/subscriptions/me', { token: ktoken, body: { tier: 'pro' } })).status === 200, 'keeper on Pro');
      const seven = TWENTY.slice(0, 7);
      for (const symbol of seven) {
        const r = await apiCall(base, 'POST', '/watchlist', { token: ktoken, body: { symbol } });
        assert(r.status === 201 || r.status === 200, `add ${symbol}: ${r.status}`);
      }
      await logIn(keeper, password);
      await page.goto(`${base}/plans`);
      await page.getByTestId('choose-plan-free').click();
      const chooser = page.getByTestId('keep-chooser');
      await chooser.waitFor(T);
      assert(/Keep 5 of 7 \(5 chosen\)/.test(await chooser.locator('legend').innerText()), `legend: ${await chooser.locator('legend').innerText()}`);
      const isChecked = async (sym) => page.getByTestId(`keep-${sym}`).isChecked();
      const checked = [];
      for (const sym of seven) if (await isChecked(sym)) checked.push(sym);
      assert(checked.length === 5, `five kept by default: ${checked}`);
      const unchecked = seven.filter((sym) => !checked.includes(sym));
      // Not the default: drop two of the preselected, keep the two that were left out.
      const drop = checked.slice(0, 2);
      const keep = [...checked.slice(2), ...unchecked];
      assert(await page.getByTestId(`keep-${unchecked[0]}`).isDisabled(), 'a sixth cannot be ticked while five are');
      for (const sym of drop) await page.getByTestId(`keep-${sym}`).uncheck();
      assert(await page.getByTestId('keep-apply').isDisabled(), 'apply waits for exactly five');
      for (const sym of unchecked) await page.getByTestId(`keep-${sym}`).check();
      const apply = page.getByTestId('keep-apply');
      assert((await apply.innerText()).includes('Remove 2 and switch to Free'), `apply: ${await apply.innerText()}`);
      await apply.click();
      await page.getByTestId('plan-free').getByTestId('current-plan').waitFor(T);
      await page.getByTestId('keep-chooser').waitFor({ state: 'detached', ...T });
      const me = await apiCall(base, 'GET', '/users/me', { token: ktoken });
      assert(me.data.subscription_tier === 'free', `tier after apply: ${me.data.subscription_tier}`);
      const left = (await apiCall(base, 'GET', '/watchlist', { token: ktoken })).data.data.map((i) => i.symbol);
      assert([...left].sort().join(',') === [...keep].sort().join(','), `kept ${left.join(',')}, chose ${keep.join(',')}`);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
      await page.waitForFunction(() => document.querySelector('[data-testid="watchlist-counter"]')?.textContent === '5 / 5', null, T);
      for (const sym of drop) assert((await page.getByTestId(`stock-row-${sym}`).count()) === 0, `${sym} removed from the dashboard`);
    });

    await step('no uncaught page errors', async () => {
      assert(pageErrors.length === 0, `page errors:\n${pageErrors.join('\n')}`);
      const minor = [...new Set(axeRuns.flatMap((r) => r.ids))];
      console.log(`    axe: ${axeRuns.length} runs, 0 serious/critical; ${axeRuns.reduce((a, r) => a + r.violations, 0)} minor/moderate findings (${minor.join(', ') || 'none'})`);
    });
    await context.close();
  } finally {
    await browser.close();
    await backend.stop();
  }
  const passed = results.filter((r) => r.status === 'passed').length;
  const failedN = results.filter((r) => r.status === 'failed').length;
  console.log(`\n${passed} passed, ${failedN} failed`);
  process.exit(failedN ? 1 : 0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

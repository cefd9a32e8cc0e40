// Shared by e2e/run.mjs and bench/budget.mjs: start the real backend serving
// the built frontend, and launch the system Chromium via playwright-core.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = resolve(FRONTEND, '..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `stockdash serve` on a fresh SQLite file; resolves once /readyz answers 200.
 * `dir` and `port` restart a stopped backend on its own database and address
 * (`stop({ keepDir: true })` first), as a restarted server would come back.
 */
export async function startBackend({ logName = 'backend.log', env = {}, dir: reuseDir, port: reusePort } = {}) {
  const bin = process.env.STOCKDASH_BIN ?? join(REPO, '.venv', 'bin', 'stockdash');
  if (!existsSync(bin)) throw new Error(`backend not found at ${bin} (create the venv first)`);
  if (!existsSync(join(FRONTEND, 'dist', 'index.html'))) throw new Error('frontend/dist missing: run `npm run build` first');
  const dir = reuseDir ?? mkdtempSync(join(tmpdir(), 'stockdash-e2e-'));
  const port = reusePort ?? (await freePort());
  const logPath = join(dir, logName);
  const log = createWriteStream(logPath, { flags: 'a' });
  // DATA_DIR: emails land in DATA_DIR/outbox (no SMTP), so each run gets its own.
  // An env value of null leaves that variable unset (e.g. PUBLIC_BASE_URL: null lets
  // `serve` derive it from its own port, as it does for a user who never set it).
  const backendEnv = Object.fromEntries(
    Object.entries({
      DATABASE_URL: `sqlite+aiosqlite:///${join(dir, 'e2e.db')}`,
      DATA_DIR: join(dir, 'data'),
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      ENVIRONMENT: 'development',
      ...env,
    }).filter(([, v]) => v !== null),
  );
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !(k in env && env[k] === null)));
  const child = spawn(bin, ['serve', '--port', String(port)], {
    cwd: REPO,
    env: { ...inherited, ...backendEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.on('exit', (code) => {
    exited = code ?? -1;
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited !== null) throw new Error(`backend exited with ${exited} before ready; see ${logPath}`);
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`backend not ready within 90s; see ${logPath}`);
    }
    await sleep(250);
  }
  const stop = async ({ keepDir = false } = {}) => {
    if (exited === null) {
      child.kill('SIGTERM');
      for (let i = 0; i < 40 && exited === null; i++) await sleep(100);
      if (exited === null) child.kill('SIGKILL');
    }
    log.end();
    if (!keepDir && !process.env.KEEP_E2E_TMP) rmSync(dir, { recursive: true, force: true });
  };
  return { base, port, dir, logPath, stop, bin, env: backendEnv, outbox: join(backendEnv.DATA_DIR, 'outbox') };
}

/** Runs a `stockdash` CLI command against the backend's database (same env); resolves with its output. */
export function runCli(backend, args) {
  return new Promise((res, rej) => {
    const child = spawn(backend.bin, args, { cwd: REPO, env: { ...process.env, ...backend.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', rej);
    child.on('exit', (code) => (code === 0 ? res(out) : rej(new Error(`stockdash ${args[0]} exited with ${code}:\n${out}`))));
  });
}

/** Decodes a .eml enough to find links: quoted-printable (soft breaks, =XX escapes) and base64 parts. */
export function emlText(raw) {
  const parts = [];
  if (/Content-Transfer-Encoding:\s*quoted-printable/i.test(raw)) {
    parts.push(raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))));
  }
  for (const m of raw.matchAll(/Content-Transfer-Encoding:\s*base64\s*\r?\n(?:[^\r\n]+\r?\n)*\r?\n([A-Za-z0-9+/=\r\n]+)/gi)) {
    parts.push(Buffer.from(m[1].replace(/\s+/g, ''), 'base64').toString('utf8'));
  }
  if (!parts.length) parts.push(raw);
  return parts.join('\n');
}

/** Waits for an outbox email to `to` with a link to `/{path}?token=...`; returns the newest such link. */
export async function waitForEmailLink(outbox, to, path, { timeout = 15_000, after = 0 } = {}) {
  const deadline = Date.now() + timeout;
  const re = new RegExp(`https?://[^\\s"'<>]+/${path}\\?token=[A-Za-z0-9_.~%-]+`);
  for (;;) {
    // Newest first (file names only have second resolution).
    const files = existsSync(outbox)
      ? readdirSync(outbox)
          .filter((f) => f.endsWith('.eml'))
          .map((f) => ({ f, t: statSync(join(outbox, f)).mtimeMs }))
          .filter(({ t }) => t >= after)
          .sort((a, b) => b.t - a.t)
          .map(({ f }) => f)
      : [];
    for (const f of files) {
      const full = join(outbox, f);
      const text = emlText(readFileSync(full, 'utf8'));
      if (!text.toLowerCase().includes(to.toLowerCase())) continue;
      const m = text.match(re);
      if (m) return m[0].replace(/&amp;/g, '&');
    }
    if (Date.now() > deadline) throw new Error(`no ${path} email to ${to} in ${outbox} (files: ${files.join(', ') || 'none'})`);
    await sleep(200);
  }
}

export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** JSON API helper against the served backend. */
export async function apiCall(base, method, path, { token, body, form } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (form) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    payload = new URLSearchParams(form).toString();
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const r = await fetch(`${base}/api/v1${path}`, { method, headers, body: payload });
  const text = await r.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  return { status: r.status, data };
}

/**
 * Reads back what the price chart painted: counts the canvas pixels close to the
 * theme's candle-up, candle-down and line colours (sampled with getImageData in
 * the page), plus all non-transparent pixels. Candlesticks paint up/down pixels;
 * a close-only line paints line pixels and no candle colours.
 */
export async function chartPaint(page, testId = 'price-chart') {
  return page.getByTestId(testId).evaluate((box) => {
    const css = getComputedStyle(document.documentElement);
    const rgb = (name) => {
      const hex = css.getPropertyValue(name).trim().replace('#', '');
      return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
    };
    const targets = { up: rgb('--chart-up'), down: rgb('--chart-down'), line: rgb('--primary') };
    const counts = { up: 0, down: 0, line: 0, painted: 0, pixels: 0, canvases: 0 };
    for (const canvas of box.querySelectorAll('canvas')) {
      if (!canvas.width || !canvas.height) continue;
      const ctx = canvas.getContext('2d');
      if (!ctx) continue;
      counts.canvases += 1;
      const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      counts.pixels += canvas.width * canvas.height;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] === 0) continue;
        counts.painted += 1;
        if (data[i + 3] < 200) continue; // translucent volume bars and anti-aliased edges
        for (const [k, [r, g, b]] of Object.entries(targets)) {
          if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 40) counts[k] += 1;
        }
      }
    }
    return { kind: box.getAttribute('data-kind'), ...counts };
  });
}

/** Polls chartPaint until `ok(paint)` holds (charts paint on the next animation frame). */
export async function waitForChartPaint(page, ok, { timeout = 15_000, testId } = {}) {
  const deadline = Date.now() + timeout;
  let last = null;
  for (;;) {
    last = await chartPaint(page, testId);
    if (ok(last)) return last;
    if (Date.now() > deadline) throw new Error(`chart not painted as expected: ${JSON.stringify(last)}`);
    await sleep(150);
  }
}

import type { Signal } from '../api/types';

const DASH = '—';

function isNum(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

export function formatPrice(n: number | null | undefined, currency = 'USD'): string {
  if (!isNum(n)) return DASH;
  return new Intl.NumberFormat('en-US', { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(n);
}

export function formatNumber(n: number | null | undefined, digits = 2): string {
  if (!isNum(n)) return DASH;
  return new Intl.NumberFormat('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(n);
}

/** Signed change, e.g. "+1.23" / "−0.50". */
export function formatChange(n: number | null | undefined, digits = 2): string {
  if (!isNum(n)) return DASH;
  const abs = Math.abs(n).toFixed(digits);
  if (n > 0) return `+${abs}`;
  if (n < 0) return `−${abs}`;
  return abs;
}

/** A value that is already in percent units (e.g. change_percent 1.5 → "+1.50%"). */
export function formatPercent(n: number | null | undefined, digits = 2, signed = true): string {
  if (!isNum(n)) return DASH;
  return signed ? `${formatChange(n, digits)}%` : `${n.toFixed(digits)}%`;
}

/** A fraction shown as a percent (e.g. 0.153 → "15.3%"). */
export function formatRatioPercent(n: number | null | undefined, digits = 1, signed = false): string {
  if (!isNum(n)) return DASH;
  return formatPercent(n * 100, digits, signed);
}

/** Compact magnitude: 1.2K, 3.4M, 5.6B, 7.8T. */
export function formatCompact(n: number | null | undefined, digits = 2): string {
  if (!isNum(n)) return DASH;
  const abs = Math.abs(n);
  const sign = n < 0 ? '−' : '';
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'B'],
    [1e6, 'M'],
    [1e3, 'K'],
  ];
  for (const [size, suffix] of units) {
    if (abs >= size) return `${sign}${(abs / size).toFixed(digits)}${suffix}`;
  }
  return `${sign}${abs.toFixed(abs % 1 === 0 ? 0 : digits)}`;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return DASH;
  // Plain dates (YYYY-MM-DD) are calendar days: don't shift them by time zone.
  const plain = /^\d{4}-\d{2}-\d{2}$/.test(iso);
  const d = new Date(plain ? `${iso}T00:00:00Z` : iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat('en-US', {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    ...(plain ? { timeZone: 'UTC' } : {}),
  }).format(d);
}

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return DASH;
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) return formatDate(iso);
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return new Intl.DateTimeFormat('en-US', { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

export type Tone = 'positive' | 'negative' | 'neutral' | 'muted';

export function changeTone(n: number | null | undefined): Tone {
  if (!isNum(n) || n === 0) return 'muted';
  return n > 0 ? 'positive' : 'negative';
}

/** Score badge colour: ≥ 65 bullish green, ≤ 35 bearish red, else neutral amber; missing → muted. */
export function scoreTone(score: number | null | undefined): Tone {
  if (!isNum(score)) return 'muted';
  if (score >= 65) return 'positive';
  if (score <= 35) return 'negative';
  return 'neutral';
}

export function signalTone(signal: Signal | string | null | undefined): Tone {
  if (signal === 'bullish') return 'positive';
  if (signal === 'bearish') return 'negative';
  if (signal === 'neutral') return 'neutral';
  return 'muted';
}

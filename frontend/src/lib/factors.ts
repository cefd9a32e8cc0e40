// How an analyst factor's value is shown. The API sends raw numbers (rates and
// margins as fractions, money in USD) and names each factor; the unit follows
// from the name, most specific rule first. Unknown names fall back to a plain number.
import type { Factor } from '../api/types';
import { formatCompact, formatNumber, formatPrice } from './format';

export type FactorUnit =
  | 'percent'
  | 'points'
  | 'multiple'
  | 'per-share'
  | 'money'
  | 'shares'
  | 'years'
  | 'grid'
  | 'number';

const RULES: [RegExp, FactorUnit][] = [
  [/sensitivity/i, 'grid'],
  [/\byears?\b/i, 'years'],
  [/P\/E|P\/B|P\/S|EV\/|price\s*\/\s*(book|sales|earnings)|\bPEG\b|debt\s*\/\s*equity|\bmultiple\b|\bratio\b/i, 'multiple'],
  [/stability|std(ev)?\b|standard deviation/i, 'points'],
  [/swings|number of/i, 'number'],
  [
    /upside|downside|rate\b|premium|growth|margin|return|yield|volatility|drawdown|\bROE\b|\bROIC\b|consistency|position|trend|\bvs\b.*\bMA\b|CAGR|safety|payout|share of|cost of|spread|\bWACC\b|weight\b/i,
    'percent',
  ],
  [/per share|scenario value|weighted value|^price$|moving average|52-week (high|low)|price target|fair value/i, 'per-share'],
  [/^shares\b|shares outstanding|share count/i, 'shares'],
  [/\bFCF\b|cash flow|earnings|income|debt|cash\b|value\b|revenue|capex|expenditure|depreciation|amorti[sz]ation|market cap/i, 'money'],
];

/** The unit a factor's value is in, from its name. */
export function factorUnit(name: string): FactorUnit {
  for (const [re, unit] of RULES) if (re.test(name)) return unit;
  return 'number';
}

function fmtPercent(n: number): string {
  const digits = Math.abs(n) < 0.1 ? 2 : 1;
  const s = `${(Math.abs(n) * 100).toFixed(digits)}%`;
  return n < 0 ? `−${s}` : s;
}

function formatOne(n: number, unit: FactorUnit): string {
  switch (unit) {
    case 'percent':
      return fmtPercent(n);
    case 'points':
      return `${formatNumber(n * 100, 1)} pt`;
    case 'multiple':
      return `${formatNumber(n, 2)}x`;
    case 'per-share':
      return formatPrice(n).replace('-', '−');
    case 'money':
      return Math.abs(n) >= 1e3 ? `$${formatCompact(n, 2)}`.replace('$−', '−$') : formatPrice(n);
    case 'shares':
      return formatCompact(n, 2);
    case 'years':
      return `${formatNumber(n, 1)} ${n === 1 ? 'year' : 'years'}`;
    default:
      return Math.abs(n) >= 1e6 ? formatCompact(n, 2) : formatNumber(n, Math.abs(n) < 10 ? 3 : 2).replace('-', '−');
  }
}

/** "r=0.0733: 181.50, 196.49; r=0.0833: ..." (per-share values by discount rate) → "7.33%: $181.50, $196.49; ...". */
function formatGrid(text: string): string {
  const rows = text.split(/;\s*/).map((row) => {
    const m = /^\s*r\s*=\s*(-?[\d.]+)\s*:\s*(.+)$/.exec(row);
    if (!m) return null;
    const values = (m[2] ?? '').split(/,\s*/).map(Number);
    if (!values.every(Number.isFinite)) return null;
    return `${fmtPercent(Number(m[1]))}: ${values.map((v) => formatPrice(v)).join(', ')}`;
  });
  return rows.every((r) => r !== null) ? rows.join('; ') : text;
}

/** A factor value in its unit: 0.32 → "32.0%", 1.34 → "1.34x", 151.1 → "$151.11", 1.1e11 → "$110.99B". */
export function formatFactorValue(value: Factor['value'], unit: FactorUnit): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') return Number.isFinite(value) ? formatOne(value, unit) : '—';
  if (unit === 'grid') return formatGrid(value);
  // A list of numbers sent as text (e.g. a yearly growth path): format each one.
  const parts = value.split(/,\s*/);
  if (unit !== 'number' && parts.length > 1 && parts.every((p) => p.trim() !== '' && Number.isFinite(Number(p)))) {
    return parts.map((p) => formatOne(Number(p), unit)).join(', ');
  }
  return value;
}

/** Informational factors (max_points == 0) carry context, not points. */
export function isInformational(f: Factor): boolean {
  return !(f.max_points > 0);
}

/** Factors left out of the score because their inputs are missing. */
export function isExcluded(f: Factor): boolean {
  return isInformational(f) && /^not scored\b/i.test(f.explanation);
}

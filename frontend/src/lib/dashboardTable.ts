// Sorting, filtering, the portfolio-style summary and the CSV export of the
// dashboard's rows: pure functions over what GET /dashboard returned.
import type { DashboardItem } from '../api/types';
import { MODEL_ORDER, modelName } from './models';

export type SortKey = 'order' | 'symbol' | 'price' | 'change' | 'trend' | 'consensus';
export type SortDir = 'asc' | 'desc';
export interface Sort {
  key: SortKey;
  dir: SortDir;
}
/** `not_rated`: no consensus (no score yet, or the analyses failed). */
export type SignalFilter = 'all' | 'bullish' | 'neutral' | 'bearish' | 'not_rated';

export const DEFAULT_SORT: Sort = { key: 'order', dir: 'asc' };

/** The 30-day change in percent from the sparkline's first to last close, or null. */
export function trendPercent(values: number[] | undefined): number | null {
  if (!values || values.length < 2) return null;
  const first = values[0] as number;
  const last = values[values.length - 1] as number;
  if (!Number.isFinite(first) || !Number.isFinite(last) || first === 0) return null;
  return ((last - first) / first) * 100;
}

export function consensusScore(item: DashboardItem | undefined): number | null {
  const s = item?.analysis?.consensus?.score;
  return typeof s === 'number' && Number.isFinite(s) ? s : null;
}

/** The row's signal; a missing consensus (or a null score) is "not_rated". */
export function rowSignal(item: DashboardItem | undefined): Exclude<SignalFilter, 'all'> {
  const c = item?.analysis?.consensus;
  if (!c || consensusScore(item) === null) return 'not_rated';
  const s = c.signal as string;
  return s === 'bullish' || s === 'bearish' || s === 'neutral' ? s : 'not_rated';
}

function sortValue(key: SortKey, symbol: string, item: DashboardItem | undefined): number | string | null {
  switch (key) {
    case 'symbol':
      return symbol;
    case 'price':
      return item?.quote?.price ?? null;
    case 'change':
      return item?.quote?.change_percent ?? null;
    case 'trend':
      return trendPercent(item?.sparkline);
    case 'consensus':
      return consensusScore(item);
    default:
      return null;
  }
}

/** The symbols in the chosen order; rows without the value always go last (as in Yahoo's screener). */
export function sortSymbols(symbols: string[], bySymbol: Map<string, DashboardItem>, sort: Sort): string[] {
  if (sort.key === 'order') return sort.dir === 'asc' ? symbols : [...symbols].reverse();
  const sign = sort.dir === 'asc' ? 1 : -1;
  const rows = symbols.map((s, i) => ({ s, i, v: sortValue(sort.key, s, bySymbol.get(s)) }));
  rows.sort((a, b) => {
    if (a.v === null || b.v === null) return a.v === b.v ? a.i - b.i : a.v === null ? 1 : -1;
    const c = typeof a.v === 'string' ? a.v.localeCompare(String(b.v)) : a.v - (b.v as number);
    return c === 0 ? a.i - b.i : sign * c;
  });
  return rows.map((r) => r.s);
}

/** Symbols matching the text (symbol or company name) and the signal. */
export function filterSymbols(
  symbols: string[],
  bySymbol: Map<string, DashboardItem>,
  text: string,
  signal: SignalFilter,
): string[] {
  const q = text.trim().toLowerCase();
  return symbols.filter((s) => {
    const item = bySymbol.get(s);
    if (q && !s.toLowerCase().includes(q) && !(item?.quote?.name ?? '').toLowerCase().includes(q)) return false;
    return signal === 'all' || rowSignal(item) === signal;
  });
}

/** A column's natural first direction: names A–Z, numbers highest first. */
export function sortFor(key: SortKey): Sort {
  return { key, dir: key === 'symbol' || key === 'order' ? 'asc' : 'desc' };
}

/** Clicking a column: a new column starts in its natural direction, the same one flips. */
export function nextSort(current: Sort, key: SortKey): Sort {
  if (current.key === key) return { key, dir: current.dir === 'asc' ? 'desc' : 'asc' };
  return sortFor(key);
}

export interface Mover {
  symbol: string;
  changePercent: number;
}

export interface Summary {
  count: number;
  bySignal: Record<Exclude<SignalFilter, 'all'>, number>;
  averageConsensus: number | null;
  gainer: Mover | null;
  loser: Mover | null;
  /** The newest quote time among the rows (ISO), and the data source. */
  asOf: string | null;
  source: string | null;
}

export function summarize(symbols: string[], bySymbol: Map<string, DashboardItem>): Summary {
  const bySignal = { bullish: 0, neutral: 0, bearish: 0, not_rated: 0 };
  const scores: number[] = [];
  const moves: Mover[] = [];
  let asOf: string | null = null;
  let source: string | null = null;
  for (const s of symbols) {
    const item = bySymbol.get(s);
    bySignal[rowSignal(item)] += 1;
    const score = consensusScore(item);
    if (score !== null) scores.push(score);
    const cp = item?.quote?.change_percent;
    if (typeof cp === 'number' && Number.isFinite(cp) && item?.quote?.price != null) moves.push({ symbol: s, changePercent: cp });
    const at = item?.quote?.as_of;
    if (at && (!asOf || Date.parse(at) > Date.parse(asOf))) {
      asOf = at;
      source = item?.quote?.source ?? null;
    }
  }
  moves.sort((a, b) => b.changePercent - a.changePercent);
  const gainer = moves[0] && moves[0].changePercent > 0 ? moves[0] : null;
  const last = moves[moves.length - 1];
  const loser = last && last.changePercent < 0 ? last : null;
  const averageConsensus = scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : null;
  return { count: symbols.length, bySignal, averageConsensus, gainer, loser, asOf, source };
}

/** Whole days between `iso` and `now`, or null for a missing/invalid time. */
export function ageInDays(iso: string | null | undefined, now: number = Date.now()): number | null {
  if (!iso) return null;
  const t = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(iso) ? `${iso}T00:00:00Z` : iso);
  if (Number.isNaN(t)) return null;
  return Math.max(0, Math.floor((now - t) / 86_400_000));
}

function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? String(Math.round(v * 10000) / 10000) : v;
  // Quote what CSV needs quoted; a leading =+-@ would run as a formula in a spreadsheet.
  const safe = /^[=+\-@]/.test(s) && typeof v === 'string' ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The rows as CSV (header first), one line per stock in the given order. */
export function watchlistCsv(symbols: string[], bySymbol: Map<string, DashboardItem>): string {
  const header = [
    'symbol',
    'name',
    'price',
    'change',
    'change_percent',
    'trend_30d_percent',
    'consensus_score',
    'signal',
    ...MODEL_ORDER.map((m) => `${m}_score`),
    'as_of',
    'source',
  ];
  const lines = [header.join(',')];
  for (const s of symbols) {
    const item = bySymbol.get(s);
    const q = item?.quote;
    const analyses = item?.analysis?.analyses ?? {};
    lines.push(
      [
        s,
        q?.name,
        q?.price,
        q?.change,
        q?.change_percent,
        trendPercent(item?.sparkline),
        consensusScore(item),
        rowSignal(item),
        ...MODEL_ORDER.map((m) => (analyses as Record<string, { score?: number | null } | undefined>)[m]?.score ?? null),
        q?.as_of,
        q?.source,
      ]
        .map(csvCell)
        .join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

export const SIGNAL_LABEL: Record<Exclude<SignalFilter, 'all'>, string> = {
  bullish: 'Bullish',
  neutral: 'Neutral',
  bearish: 'Bearish',
  not_rated: 'Not rated',
};

export function modelColumns(): { id: string; name: string }[] {
  return MODEL_ORDER.map((m) => ({ id: m, name: modelName(m) }));
}

/** The symbols in the user's own order (`order`); symbols it doesn't know keep their place at the end. */
export function applyCustomOrder(symbols: string[], order: string[]): string[] {
  if (!order.length) return symbols;
  const rank = new Map(order.map((s, i) => [s, i]));
  const known = symbols.filter((s) => rank.has(s)).sort((a, b) => (rank.get(a) as number) - (rank.get(b) as number));
  return [...known, ...symbols.filter((s) => !rank.has(s))];
}

/** `ordered` with `symbol` moved by `delta` places (clamped to the ends). */
export function moveSymbol(ordered: string[], symbol: string, delta: number): string[] {
  const i = ordered.indexOf(symbol);
  if (i === -1) return ordered;
  const j = Math.min(Math.max(i + delta, 0), ordered.length - 1);
  const next = [...ordered];
  next.splice(i, 1);
  next.splice(j, 0, symbol);
  return next;
}

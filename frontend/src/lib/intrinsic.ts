// The stock page's "intrinsic values": Buffett's owner-earnings value and the DCF's base
// case and probability-weighted value, read from each model's own factors and set
// side by side against the price, so three different numbers are read as three models.
import type { AnalystResult } from '../api/types';

export type IntrinsicKey = 'buffett' | 'dcf-base' | 'dcf-weighted';

export interface IntrinsicRow {
  key: IntrinsicKey;
  label: string;
  /** How the model gets there, in a few words. */
  method: string;
  /** Per share; null when the model could not compute it. */
  value: number | null;
  /** value / price − 1 (fraction); null without a value or a price. */
  vsPrice: number | null;
}

const SOURCES: { key: IntrinsicKey; model: string; factor: string; label: string; method: string }[] = [
  {
    key: 'buffett',
    model: 'warren_buffett',
    factor: 'Intrinsic value per share',
    label: 'Warren Buffett',
    method: '10 years of owner earnings + terminal value',
  },
  { key: 'dcf-base', model: 'dcf_math', factor: 'Value per share', label: 'DCF base case', method: 'free cash flow, base-case assumptions' },
  {
    key: 'dcf-weighted',
    model: 'dcf_math',
    factor: 'Probability-weighted value',
    label: 'DCF probability-weighted',
    method: '25% bear + 50% base + 25% bull',
  },
];

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** One row per intrinsic value whose model the caller can see (locked models are left out). */
export function intrinsicValues(analyses: Partial<Record<string, AnalystResult>>, price: number | null | undefined): IntrinsicRow[] {
  const rows: IntrinsicRow[] = [];
  for (const s of SOURCES) {
    const result = analyses[s.model];
    if (!result) continue;
    const raw = result.factors.find((f) => f.name === s.factor)?.value;
    const value = finite(raw) ? raw : null;
    const vsPrice = value !== null && finite(price) && price > 0 ? value / price - 1 : null;
    rows.push({ key: s.key, label: s.label, method: s.method, value, vsPrice });
  }
  return rows;
}

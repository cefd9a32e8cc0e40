import type { Bar } from '../api/types';

export interface CandlePoint {
  time: string;
  open: number;
  high: number;
  low: number;
  close: number;
  /** Set on a bar that has a close only: drawn as a flat tick in this colour. */
  color?: string;
  wickColor?: string;
  borderColor?: string;
}

export interface ValuePoint {
  time: string;
  value: number;
  color?: string;
}

export type ChartData =
  | { kind: 'candles'; candles: CandlePoint[]; volumes: ValuePoint[] }
  | { kind: 'line'; line: ValuePoint[] }
  | { kind: 'empty' };

function finite(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

/** Sorted ascending by date, one bar per date (last wins), bars without a close dropped. */
export function normaliseBars(bars: Bar[]): Bar[] {
  const byDate = new Map<string, Bar>();
  for (const b of bars) {
    if (!b || !finite(b.close) || typeof b.date !== 'string') continue;
    byDate.set(b.date.slice(0, 10), { ...b, date: b.date.slice(0, 10) });
  }
  return [...byDate.values()].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
}

/** Bars with open, high and low (close is always there). */
function hasOhlc(b: Bar): boolean {
  return finite(b.open) && finite(b.high) && finite(b.low);
}

/**
 * Chart series for a price history: candlesticks + volume when the bars have
 * OHLC (a close-only bar among them, e.g. the latest quote, is a flat tick in
 * `closeOnly` colour at its close), a line of closes when at most half have it.
 */
export function toChartData(bars: Bar[], up = '#16a34a', down = '#dc2626', closeOnly = '#2563eb'): ChartData {
  const clean = normaliseBars(bars);
  if (clean.length === 0) return { kind: 'empty' };
  const withOhlc = clean.filter(hasOhlc).length;
  if (withOhlc * 2 <= clean.length) {
    return { kind: 'line', line: clean.map((b) => ({ time: b.date, value: b.close })) };
  }
  const candles = clean.map((b): CandlePoint =>
    hasOhlc(b)
      ? { time: b.date, open: b.open as number, high: b.high as number, low: b.low as number, close: b.close }
      : { time: b.date, open: b.close, high: b.close, low: b.close, close: b.close, color: closeOnly, wickColor: closeOnly, borderColor: closeOnly },
  );
  const volumes = clean
    .filter((b) => finite(b.volume))
    .map((b) => ({
      time: b.date,
      value: b.volume as number,
      color: b.close >= (finite(b.open) ? b.open : b.close) ? `${up}66` : `${down}66`,
    }));
  return { kind: 'candles', candles, volumes };
}

/** SVG polyline points for a sparkline of values in a width×height box. */
export function sparklinePoints(values: number[], width: number, height: number, pad = 2): string {
  const v = values.filter(finite);
  if (v.length < 2) return '';
  const min = Math.min(...v);
  const max = Math.max(...v);
  const span = max - min || 1;
  const step = (width - pad * 2) / (v.length - 1);
  return v
    .map((y, i) => {
      const px = pad + i * step;
      const py = pad + (height - pad * 2) * (1 - (y - min) / span);
      return `${px.toFixed(1)},${py.toFixed(1)}`;
    })
    .join(' ');
}

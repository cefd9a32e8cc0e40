import { describe, expect, it } from 'vitest';
import type { Bar } from '../api/types';
import { normaliseBars, sparklinePoints, toChartData } from './chart';

const bar = (date: string, close: number, o: Partial<Bar> = {}): Bar => ({
  date,
  open: close - 1,
  high: close + 1,
  low: close - 2,
  close,
  volume: 1000,
  ...o,
});

describe('toChartData', () => {
  it('draws candlesticks + volume when OHLC is complete', () => {
    const d = toChartData([bar('2024-01-02', 10), bar('2024-01-03', 9, { open: 10 })], '#0a0', '#a00');
    expect(d.kind).toBe('candles');
    if (d.kind !== 'candles') throw new Error('unreachable');
    expect(d.candles).toEqual([
      { time: '2024-01-02', open: 9, high: 11, low: 8, close: 10 },
      { time: '2024-01-03', open: 10, high: 10, low: 7, close: 9 },
    ]);
    expect(d.volumes.map((v) => v.color)).toEqual(['#0a066', '#a0066']);
  });

  it('draws a line of closes when most bars have closes only', () => {
    const d = toChartData([bar('2024-01-02', 10), bar('2024-01-03', 11, { open: null, high: null, low: null, volume: null })]);
    expect(d).toEqual({
      kind: 'line',
      line: [
        { time: '2024-01-02', value: 10 },
        { time: '2024-01-03', value: 11 },
      ],
    });
  });

  it('keeps candles when a few bars are close-only, drawing those as a flat tick at the close', () => {
    const closeOnly = { open: null, high: null, low: null, volume: null };
    const d = toChartData([bar('2024-01-02', 10), bar('2024-01-03', 11), bar('2024-01-04', 12, closeOnly)], '#0a0', '#a00', '#00f');
    expect(d.kind).toBe('candles');
    if (d.kind !== 'candles') throw new Error('unreachable');
    expect(d.candles[2]).toEqual({ time: '2024-01-04', open: 12, high: 12, low: 12, close: 12, color: '#00f', wickColor: '#00f', borderColor: '#00f' });
    expect(d.volumes).toHaveLength(2);
  });

  it('skips volume where it is null but keeps candles', () => {
    const d = toChartData([bar('2024-01-02', 10, { volume: null }), bar('2024-01-03', 11)]);
    expect(d.kind === 'candles' && d.volumes.length).toBe(1);
  });

  it('is empty without bars', () => {
    expect(toChartData([])).toEqual({ kind: 'empty' });
  });
});

describe('normaliseBars', () => {
  it('sorts ascending, dedupes dates, trims timestamps and drops bars without a close', () => {
    const out = normaliseBars([
      bar('2024-01-03T00:00:00Z', 3),
      bar('2024-01-01', 1),
      bar('2024-01-03', 4),
      { ...bar('2024-01-02', 2), close: Number.NaN },
    ]);
    expect(out.map((b) => [b.date, b.close])).toEqual([
      ['2024-01-01', 1],
      ['2024-01-03', 4],
    ]);
  });
});

describe('sparklinePoints', () => {
  it('scales values into the box', () => {
    expect(sparklinePoints([1, 2, 3], 104, 24, 2)).toBe('2.0,22.0 52.0,12.0 102.0,2.0');
  });
  it('handles flat and short series', () => {
    expect(sparklinePoints([5], 100, 20)).toBe('');
    expect(sparklinePoints([5, 5], 100, 20, 0)).toBe('0.0,20.0 100.0,20.0');
  });
});

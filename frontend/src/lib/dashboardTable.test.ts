import { describe, expect, it } from 'vitest';
import type { DashboardItem } from '../api/types';
import { makeAnalysis, makeItem, makeStock } from '../test/fixtures';
import { ageInDays, filterSymbols, nextSort, rowSignal, sortSymbols, summarize, trendPercent, watchlistCsv } from './dashboardTable';

function map(items: DashboardItem[]): Map<string, DashboardItem> {
  return new Map(items.map((i) => [i.symbol, i]));
}

const A = makeItem('AAA', { quote: { ...makeStock('AAA'), price: 10, change_percent: 2 }, analysis: makeAnalysis('AAA', { basic: 80 }), sparkline: [10, 11] });
const B = makeItem('BBB', { quote: { ...makeStock('BBB'), price: 30, change_percent: -1.5 }, analysis: makeAnalysis('BBB', { basic: 20 }), sparkline: [10, 8] });
const C = makeItem('CCC', { quote: { ...makeStock('CCC'), price: null, change_percent: null }, analysis: null, sparkline: [] });
const rows = map([A, B, C]);
const syms = ['BBB', 'CCC', 'AAA'];

describe('dashboard table', () => {
  it('sorts numbers highest first on first click, flips on the second, and keeps missing values last', () => {
    const byPrice = nextSort({ key: 'order', dir: 'asc' }, 'price');
    expect(byPrice).toEqual({ key: 'price', dir: 'desc' });
    expect(sortSymbols(syms, rows, byPrice)).toEqual(['BBB', 'AAA', 'CCC']);
    expect(sortSymbols(syms, rows, nextSort(byPrice, 'price'))).toEqual(['AAA', 'BBB', 'CCC']);
    expect(sortSymbols(syms, rows, { key: 'consensus', dir: 'desc' })).toEqual(['AAA', 'BBB', 'CCC']);
    expect(sortSymbols(syms, rows, { key: 'symbol', dir: 'asc' })).toEqual(['AAA', 'BBB', 'CCC']);
    expect(sortSymbols(syms, rows, { key: 'order', dir: 'asc' })).toEqual(syms);
  });

  it('filters by symbol or name and by signal; no consensus is "not rated"', () => {
    expect(filterSymbols(syms, rows, 'aa', 'all')).toEqual(['AAA']);
    expect(filterSymbols(syms, rows, 'bbb inc', 'all')).toEqual(['BBB']);
    expect(filterSymbols(syms, rows, '', 'not_rated')).toEqual(['CCC']);
    expect(rowSignal(C)).toBe('not_rated');
  });

  it('summarises signals, the average consensus and the day movers', () => {
    const s = summarize(syms, rows);
    expect(s.count).toBe(3);
    expect(s.bySignal.not_rated).toBe(1);
    expect(s.averageConsensus).toBeCloseTo(50);
    expect(s.gainer).toEqual({ symbol: 'AAA', changePercent: 2 });
    expect(s.loser).toEqual({ symbol: 'BBB', changePercent: -1.5 });
  });

  it('computes the 30-day change the sparkline shows', () => {
    expect(trendPercent([10, 12])).toBeCloseTo(20);
    expect(trendPercent([10])).toBeNull();
    expect(trendPercent([0, 3])).toBeNull();
  });

  it('exports CSV with a header, quoting, and formula-looking text defused', () => {
    const evil = makeItem('EVL', { quote: { ...makeStock('EVL'), name: '=HYPERLINK("x"), Inc' } });
    const csv = watchlistCsv(['AAA', 'EVL'], map([A, evil]));
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toMatch(/^symbol,name,price,change,change_percent,trend_30d_percent,consensus_score,signal,basic_score/);
    expect(lines[1]).toMatch(/^AAA,AAA Inc\.,10,/);
    expect(lines[2]).toContain(`"'=HYPERLINK(""x""), Inc"`);
  });

  it('counts the age of data in whole days', () => {
    expect(ageInDays('2026-08-21', Date.parse('2026-12-03T12:00:00Z'))).toBe(104);
    expect(ageInDays(null)).toBeNull();
  });
});

describe('custom order', () => {
  it('applies a saved order, new symbols last, and moves within the ends', async () => {
    const { applyCustomOrder, moveSymbol } = await import('./dashboardTable');
    expect(applyCustomOrder(['A', 'B', 'C', 'D'], ['C', 'A', 'X'])).toEqual(['C', 'A', 'B', 'D']);
    expect(moveSymbol(['A', 'B', 'C'], 'C', -1)).toEqual(['A', 'C', 'B']);
    expect(moveSymbol(['A', 'B', 'C'], 'A', -1)).toEqual(['A', 'B', 'C']);
    expect(moveSymbol(['A', 'B', 'C'], 'A', 5)).toEqual(['B', 'C', 'A']);
  });
});

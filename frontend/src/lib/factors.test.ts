import { describe, expect, it } from 'vitest';
import { makeFactor } from '../test/fixtures';
import { factorUnit, formatFactorValue, isExcluded, isInformational } from './factors';

describe('factorUnit', () => {
  it.each([
    ['Price vs 50-day MA', 'percent'],
    ['Operating margin', 'percent'],
    ['Earnings growth', 'percent'],
    ['Owner-earnings growth', 'percent'],
    ['Margin of safety', 'percent'],
    ['Discount rate', 'percent'],
    ['Upside to probability-weighted value', 'percent'],
    ['ROE consistency', 'percent'],
    ['Gross-margin stability', 'points'],
    ['P/E vs sector median', 'multiple'],
    ['Debt/equity', 'multiple'],
    ['PEG', 'multiple'],
    ['Intrinsic value per share', 'per-share'],
    ['Bear scenario value', 'per-share'],
    ['Owner earnings', 'money'],
    ['Enterprise value', 'money'],
    ['Shares', 'shares'],
    ['High-growth years', 'years'],
    ['RSI-14', 'number'],
    ['Beta', 'number'],
  ] as const)('%s → %s', (name, unit) => {
    expect(factorUnit(name)).toBe(unit);
  });
});

describe('formatFactorValue', () => {
  it('formats each unit', () => {
    expect(formatFactorValue(-0.00162, 'percent')).toBe('−0.16%');
    expect(formatFactorValue(0.3197, 'percent')).toBe('32.0%');
    expect(formatFactorValue(-1.0471, 'percent')).toBe('−104.7%');
    expect(formatFactorValue(0.0333, 'points')).toBe('3.3 pt');
    expect(formatFactorValue(1.0958, 'multiple')).toBe('1.1x');
    expect(formatFactorValue(1.338, 'multiple')).toBe('1.34x');
    expect(formatFactorValue(151.1117, 'per-share')).toBe('$151.11');
    expect(formatFactorValue(110_993_000_000, 'money')).toBe('$110.99B');
    expect(formatFactorValue(-62_723_000_000, 'money')).toBe('−$62.72B');
    expect(formatFactorValue(15_004_697_000, 'shares')).toBe('15.00B');
    expect(formatFactorValue(5, 'years')).toBe('5 years');
    expect(formatFactorValue(48.925, 'number')).toBe('48.93');
    expect(formatFactorValue(-0.4614, 'number')).toBe('−0.461');
  });

  it('keeps text, formats number lists in the unit, dashes missing values', () => {
    expect(formatFactorValue('stalwart', 'number')).toBe('stalwart');
    expect(formatFactorValue('0.0868, 0.0744, 0.025', 'percent')).toBe('8.68%, 7.44%, 2.50%');
    expect(formatFactorValue('r=0.0741: 178.48, 192.92', 'number')).toBe('r=0.0741: 178.48, 192.92');
    expect(formatFactorValue(null, 'percent')).toBe('—');
  });
});

describe('informational factors', () => {
  it('are the ones without points; excluded ones say why', () => {
    expect(isInformational(makeFactor({ max_points: 10, points: 4 }))).toBe(false);
    expect(isInformational(makeFactor({ max_points: 0 }))).toBe(true);
    expect(isExcluded(makeFactor({ max_points: 0, explanation: 'Not scored (10 points excluded): no data.' }))).toBe(true);
    expect(isExcluded(makeFactor({ max_points: 0, explanation: 'From the market context.' }))).toBe(false);
  });
});

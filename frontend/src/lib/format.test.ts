import { describe, expect, it } from 'vitest';
import {
  changeTone,
  formatChange,
  formatCompact,
  formatDate,
  formatPercent,
  formatPrice,
  formatRatioPercent,
  scoreTone,
  signalTone,
} from './format';

describe('formatters', () => {
  it('formats prices in USD and dashes missing values', () => {
    expect(formatPrice(1234.5)).toBe('$1,234.50');
    expect(formatPrice(null)).toBe('—');
    expect(formatPrice(undefined)).toBe('—');
    expect(formatPrice(Number.NaN)).toBe('—');
  });

  it('signs changes and percents', () => {
    expect(formatChange(1.234)).toBe('+1.23');
    expect(formatChange(-0.5)).toBe('−0.50');
    expect(formatChange(0)).toBe('0.00');
    expect(formatPercent(2.5)).toBe('+2.50%');
    expect(formatPercent(-1)).toBe('−1.00%');
    expect(formatPercent(12.345, 1, false)).toBe('12.3%');
  });

  it('shows fractions as percents', () => {
    expect(formatRatioPercent(0.153)).toBe('15.3%');
    expect(formatRatioPercent(-0.02, 1, true)).toBe('−2.0%');
    expect(formatRatioPercent(null)).toBe('—');
  });

  it('compacts large magnitudes', () => {
    expect(formatCompact(2.95e12)).toBe('2.95T');
    expect(formatCompact(383_285_000_000)).toBe('383.29B');
    expect(formatCompact(-4_500_000, 1)).toBe('−4.5M');
    expect(formatCompact(1500)).toBe('1.50K');
    expect(formatCompact(42)).toBe('42');
    expect(formatCompact(null)).toBe('—');
  });

  it('keeps calendar dates on their day regardless of time zone', () => {
    expect(formatDate('2024-01-01')).toBe('Jan 1, 2024');
    expect(formatDate(null)).toBe('—');
    expect(formatDate('not a date')).toBe('not a date');
  });
});

describe('tones', () => {
  it('colours score badges by band', () => {
    expect(scoreTone(80)).toBe('positive');
    expect(scoreTone(65)).toBe('positive');
    expect(scoreTone(64.9)).toBe('neutral');
    expect(scoreTone(50)).toBe('neutral');
    expect(scoreTone(35)).toBe('negative');
    expect(scoreTone(0)).toBe('negative');
    expect(scoreTone(null)).toBe('muted');
    expect(scoreTone(undefined)).toBe('muted');
  });

  it('maps signals and changes', () => {
    expect(signalTone('bullish')).toBe('positive');
    expect(signalTone('bearish')).toBe('negative');
    expect(signalTone('neutral')).toBe('neutral');
    expect(signalTone(null)).toBe('muted');
    expect(changeTone(1)).toBe('positive');
    expect(changeTone(-1)).toBe('negative');
    expect(changeTone(0)).toBe('muted');
    expect(changeTone(null)).toBe('muted');
  });
});

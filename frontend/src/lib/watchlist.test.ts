import { describe, expect, it } from 'vitest';
import { TIERS } from '../test/fixtures';
import { modelName, sortModels } from './models';
import { shouldVirtualize, upgradePrompt, VIRTUALIZE_THRESHOLD } from './watchlist';

describe('upgradePrompt', () => {
  it('is silent while there is room', () => {
    expect(upgradePrompt(4, 5, 'free', TIERS)).toMatchObject({ full: false, message: '' });
  });

  it('suggests the next tier up when full', () => {
    const s = upgradePrompt(5, 5, 'free', TIERS);
    expect(s.full).toBe(true);
    expect(s.nextTier).toBe('pro');
    expect(s.nextMax).toBe(10);
    expect(s.message).toBe('Your watchlist is full (5 / 5). Upgrade to Pro to track up to 10 stocks.');
  });

  it('suggests expert from pro, and nothing beyond expert', () => {
    expect(upgradePrompt(10, 10, 'pro', TIERS).nextTier).toBe('expert');
    const top = upgradePrompt(20, 20, 'expert', TIERS);
    expect(top.full).toBe(true);
    expect(top.nextTier).toBeNull();
    expect(top.message).toMatch(/Remove a stock/);
  });

  it('treats over-limit (after a downgrade) as full', () => {
    expect(upgradePrompt(7, 5, 'free', TIERS).full).toBe(true);
  });

  it('falls back to the tier order before tiers load', () => {
    const s = upgradePrompt(5, 5, 'free', undefined);
    expect(s.nextTier).toBe('pro');
    expect(s.nextMax).toBeNull();
    expect(s.message).toBe('Your watchlist is full (5 / 5). Upgrade to Pro.');
  });

  it('never prompts with a zero limit (unknown)', () => {
    expect(upgradePrompt(0, 0, 'free', TIERS).full).toBe(false);
  });
});

describe('virtualisation threshold', () => {
  it('virtualises only long lists', () => {
    expect(shouldVirtualize(VIRTUALIZE_THRESHOLD)).toBe(false);
    expect(shouldVirtualize(VIRTUALIZE_THRESHOLD + 1)).toBe(true);
    // The largest tier's watchlist is virtualised, so the code path is real.
    expect(shouldVirtualize(Math.max(...TIERS.map((t) => t.max_stocks)))).toBe(true);
  });
});

describe('models', () => {
  it('has display names and a canonical order', () => {
    expect(modelName('dcf_math')).toBe('DCF');
    expect(modelName('warren_buffett')).toBe('Warren Buffett');
    expect(modelName('some_new_model')).toBe('Some New Model');
    expect(sortModels(['dcf_math', 'zeta', 'basic', 'peter_lynch', 'warren_buffett'])).toEqual([
      'basic',
      'warren_buffett',
      'peter_lynch',
      'dcf_math',
      'zeta',
    ]);
  });
});

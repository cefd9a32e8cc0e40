import { describe, expect, it } from 'vitest';
import { makeAnalyst, makeFactor } from '../test/fixtures';
import { intrinsicValues } from './intrinsic';

const buffett = makeAnalyst('warren_buffett', 60, { factors: [makeFactor({ name: 'Intrinsic value per share', value: 150 })] });
const dcf = makeAnalyst('dcf_math', 40, {
  factors: [makeFactor({ name: 'Value per share', value: 80 }), makeFactor({ name: 'Probability-weighted value', value: 90 })],
});

describe('intrinsicValues', () => {
  it('reads the three values from the models and compares each with the price', () => {
    const rows = intrinsicValues({ warren_buffett: buffett, dcf_math: dcf }, 100);
    expect(rows.map((r) => [r.key, r.value])).toEqual([
      ['buffett', 150],
      ['dcf-base', 80],
      ['dcf-weighted', 90],
    ]);
    expect(rows[0]?.vsPrice).toBeCloseTo(0.5);
    expect(rows[1]?.vsPrice).toBeCloseTo(-0.2);
    expect(rows[2]?.vsPrice).toBeCloseTo(-0.1);
  });

  it('leaves out models the plan does not include', () => {
    expect(intrinsicValues({ warren_buffett: buffett }, 100).map((r) => r.key)).toEqual(['buffett']);
    expect(intrinsicValues({ basic: makeAnalyst('basic', 50) }, 100)).toEqual([]);
  });

  it('says nothing it cannot compute: no value, or no price', () => {
    const blank = makeAnalyst('warren_buffett', 50, { factors: [makeFactor({ name: 'Intrinsic value per share', value: null })] });
    expect(intrinsicValues({ warren_buffett: blank }, 100)[0]).toMatchObject({ value: null, vsPrice: null });
    expect(intrinsicValues({ warren_buffett: buffett }, null)[0]).toMatchObject({ value: 150, vsPrice: null });
    expect(intrinsicValues({ warren_buffett: buffett }, 0)[0]?.vsPrice).toBeNull();
  });
});

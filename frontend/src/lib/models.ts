import type { ModelId, Tier } from '../api/types';

export const MODEL_ORDER: ModelId[] = ['basic', 'warren_buffett', 'peter_lynch', 'dcf_math'];

const NAMES: Record<string, string> = {
  basic: 'Basic',
  warren_buffett: 'Warren Buffett',
  peter_lynch: 'Peter Lynch',
  dcf_math: 'DCF',
};

const SHORT: Record<string, string> = {
  basic: 'BA',
  warren_buffett: 'WB',
  peter_lynch: 'PL',
  dcf_math: 'DCF',
};

export function modelName(model: string): string {
  return NAMES[model] ?? model.replace(/_/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase());
}

const LONG: Record<string, string> = { dcf_math: 'Discounted cash flow' };

/** The name spelled out (for legends): "DCF" → "Discounted cash flow". */
export function modelLongName(model: string): string {
  return LONG[model] ?? modelName(model);
}

export function modelShortName(model: string): string {
  return SHORT[model] ?? modelName(model).slice(0, 3).toUpperCase();
}

/** Sorts model ids into the canonical display order; unknown models go last, alphabetically. */
export function sortModels<T extends string>(models: T[]): T[] {
  const rank = (m: string) => {
    const i = (MODEL_ORDER as string[]).indexOf(m);
    return i === -1 ? MODEL_ORDER.length : i;
  };
  return [...models].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

export const TIER_ORDER: Tier[] = ['free', 'pro', 'expert'];

export function tierName(tier: string): string {
  return tier.charAt(0).toUpperCase() + tier.slice(1);
}

export function tierRank(tier: string): number {
  const i = TIER_ORDER.indexOf(tier as Tier);
  return i === -1 ? 0 : i;
}

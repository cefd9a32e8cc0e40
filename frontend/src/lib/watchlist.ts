import type { Tier, TierInfo } from '../api/types';
import { TIER_ORDER, tierRank } from './models';

export interface UpgradePromptState {
  full: boolean;
  /** The next tier up that allows more stocks, if any. */
  nextTier: Tier | null;
  nextMax: number | null;
  message: string;
}

/** Whether the watchlist is full and what to suggest. */
export function upgradePrompt(
  count: number,
  max: number,
  currentTier: Tier,
  tiers: TierInfo[] | undefined,
): UpgradePromptState {
  const full = max > 0 && count >= max;
  const sorted = [...(tiers ?? [])].sort((a, b) => tierRank(a.tier) - tierRank(b.tier));
  let next: TierInfo | undefined = sorted.find((t) => tierRank(t.tier) > tierRank(currentTier) && t.max_stocks > max);
  if (!next && !tiers) {
    const idx = TIER_ORDER.indexOf(currentTier);
    const tier = TIER_ORDER[idx + 1];
    if (tier) next = { tier, name: tier, max_stocks: NaN, models: [] };
  }
  const nextMax = next && Number.isFinite(next.max_stocks) ? next.max_stocks : null;
  let message = '';
  if (full) {
    message = next
      ? `Your watchlist is full (${count} / ${max}). Upgrade to ${next.name.charAt(0).toUpperCase() + next.name.slice(1)}${nextMax ? ` to track up to ${nextMax} stocks` : ''}.`
      : `Your watchlist is full (${count} / ${max}). Remove a stock to add another.`;
  }
  return { full, nextTier: next?.tier ?? null, nextMax, message };
}

/** Lists longer than this are virtualised. */
export const VIRTUALIZE_THRESHOLD = 24;

export function shouldVirtualize(count: number): boolean {
  return count > VIRTUALIZE_THRESHOLD;
}

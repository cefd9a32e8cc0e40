import type { Tier, TierInfo } from '../api/types';
import { TIER_ORDER, tierName, tierRank } from './models';

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
  const next = sorted.find((t) => tierRank(t.tier) > tierRank(currentTier) && t.max_stocks > max);
  // Before /tiers answers, suggest the next tier by order (its limit unknown yet).
  const nextTier: Tier | null = next?.tier ?? (tiers ? null : (TIER_ORDER[TIER_ORDER.indexOf(currentTier) + 1] ?? null));
  const nextName = next?.name ?? (nextTier ? tierName(nextTier) : '');
  const nextMax = next?.max_stocks ?? null;
  let message = '';
  if (full) {
    message = nextTier
      ? `Your watchlist is full (${count} / ${max}). Upgrade to ${nextName}${nextMax ? ` to track up to ${nextMax} stocks` : ''}.`
      : `Your watchlist is full (${count} / ${max}). Remove a stock to add another.`;
  }
  return { full, nextTier, nextMax, message };
}

/**
 * Lists longer than this are virtualised (only cards near the viewport are
 * mounted): an Expert watchlist holds up to 20, about two screens of cards.
 */
export const VIRTUALIZE_THRESHOLD = 12;

export function shouldVirtualize(count: number): boolean {
  return count > VIRTUALIZE_THRESHOLD;
}

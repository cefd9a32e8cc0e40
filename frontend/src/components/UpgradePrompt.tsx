import { Link } from 'react-router-dom';
import type { Tier, TierInfo } from '../api/types';
import { upgradePrompt } from '../lib/watchlist';

export function UpgradePrompt({
  count,
  max,
  tier,
  tiers,
}: {
  count: number;
  max: number;
  tier: Tier;
  tiers: TierInfo[] | undefined;
}) {
  const state = upgradePrompt(count, max, tier, tiers);
  if (!state.full) return null;
  return (
    <div className="alert alert-warn row" role="status" data-testid="upgrade-prompt" style={{ justifyContent: 'space-between' }}>
      <span>{state.message}</span>
      {state.nextTier ? (
        <Link className="btn btn-primary btn-sm" to="/plans" data-testid="upgrade-link">
          See plans
        </Link>
      ) : null}
    </div>
  );
}

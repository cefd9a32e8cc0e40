import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { ApiError, errorMessage } from '../api/client';
import { changeTier, getTiers, queryKeys } from '../api/endpoints';
import type { Tier, User } from '../api/types';
import { useAuth } from '../auth';
import { Alert, Badge, Button, Card, Skeleton } from '../components/ui';
import { MODEL_ORDER, modelLongName, tierName, tierRank } from '../lib/models';
import { useToast } from '../toast';

export default function PlansPage() {
  const { user } = useAuth();
  const qc = useQueryClient();
  const { push } = useToast();
  const tiers = useQuery({ queryKey: queryKeys.tiers, queryFn: getTiers, staleTime: 10 * 60_000 });
  const [error, setError] = useState<{ tier: Tier; err: unknown } | null>(null);

  const change = useMutation({
    mutationFn: changeTier,
    meta: { silent: true },
    onMutate: () => setError(null),
    onSuccess: (updated: User) => {
      qc.setQueryData(queryKeys.me, updated);
      push(`You're now on the ${tierName(updated.subscription_tier)} plan`, 'success');
      void qc.invalidateQueries({ queryKey: queryKeys.me });
      void qc.invalidateQueries({ queryKey: queryKeys.watchlist });
      void qc.invalidateQueries({ queryKey: queryKeys.dashboard });
      void qc.invalidateQueries({ queryKey: ['analysis'] });
    },
    onError: (err, tier) => setError({ tier, err }),
  });

  const current = user?.subscription_tier;
  const list = [...(tiers.data?.data ?? [])].sort((a, b) => tierRank(a.tier) - tierRank(b.tier));

  return (
    <div className="stack">
      <div className="page-head">
        <h1>Plans</h1>
        {user ? (
          <span className="muted">
            Watchlist limit: <strong>{user.max_stocks}</strong> stocks
          </span>
        ) : null}
      </div>
      {error ? <PlanChangeError tier={error.tier} err={error.err} tierNames={Object.fromEntries(list.map((t) => [t.tier, t.name]))} /> : null}
      {tiers.isPending ? (
        <div className="plans">
          <Skeleton height={260} />
          <Skeleton height={260} />
          <Skeleton height={260} />
        </div>
      ) : tiers.isError ? (
        <Alert kind="error">Could not load plans: {tiers.error.message}</Alert>
      ) : (
        <div className="plans" data-testid="plans">
          {list.map((t) => {
            const isCurrent = t.tier === current;
            const up = current ? tierRank(t.tier) > tierRank(current) : true;
            return (
              <Card key={t.tier} className={`plan ${isCurrent ? 'current' : ''}`} data-testid={`plan-${t.tier}`} aria-label={`${t.name} plan`}>
                <div className="card-title">
                  <h2>{t.name}</h2>
                  {isCurrent ? (
                    <Badge tone="info" data-testid="current-plan">
                      Current plan
                    </Badge>
                  ) : null}
                </div>
                <p className="plan-description" data-testid="plan-description">
                  {t.description}
                </p>
                <div className="plan-limit">
                  <span className="plan-limit-n num">{t.max_stocks}</span> stocks on your watchlist
                </div>
                <div>
                  <div className="small muted">AI analysts</div>
                  <ul className="plan-models">
                    {MODEL_ORDER.map((m) => {
                      const included = t.models.includes(m);
                      return (
                        <li key={m} className={included ? '' : 'excluded'} aria-label={`${modelLongName(m)}${included ? '' : ' (not included)'}`}>
                          <span aria-hidden="true">{included ? '✓' : '–'}</span> {modelLongName(m)}
                        </li>
                      );
                    })}
                  </ul>
                </div>
                <div className="spacer" />
                {isCurrent ? (
                  <Button disabled>Your plan</Button>
                ) : (
                  <Button
                    variant={up ? 'primary' : 'default'}
                    loading={change.isPending && change.variables === t.tier}
                    disabled={change.isPending}
                    onClick={() => change.mutate(t.tier as Tier)}
                    data-testid={`choose-plan-${t.tier}`}
                  >
                    {up ? `Upgrade to ${t.name}` : `Downgrade to ${t.name}`}
                  </Button>
                )}
              </Card>
            );
          })}
        </div>
      )}
      <p className="small muted">
        Plan changes take effect immediately; there is no billing in this build. Downgrading needs your watchlist to fit the
        new limit.
      </p>
    </div>
  );
}

/** A refused plan change: the 409 "watchlist too big" spelled out from its details, else the server's message. */
function PlanChangeError({ tier, err, tierNames }: { tier: Tier; err: unknown; tierNames: Record<string, string> }) {
  const name = tierNames[tier] ?? tierName(tier);
  const over = overLimit(err);
  return (
    <Alert kind="error" data-testid="plan-error">
      <strong className="alert-title">Can't switch to {name} yet</strong>
      {over ? (
        <span>
          You track {over.tracked} stocks and the {name} plan allows {over.max_stocks}. Remove {over.tracked - over.max_stocks}{' '}
          {over.tracked - over.max_stocks === 1 ? 'stock' : 'stocks'} from your{' '}
          <Link to="/">dashboard</Link> first, then switch.
        </span>
      ) : (
        <span>{errorMessage(err)}</span>
      )}
    </Alert>
  );
}

/** The 409 `watchlist_exceeds_tier` details ({tracked, max_stocks}), if that is what err is. */
function overLimit(err: unknown): { tracked: number; max_stocks: number } | null {
  if (!(err instanceof ApiError) || err.code !== 'watchlist_exceeds_tier') return null;
  const d = err.details as { tracked?: unknown; max_stocks?: unknown } | null | undefined;
  return d && typeof d.tracked === 'number' && typeof d.max_stocks === 'number' ? { tracked: d.tracked, max_stocks: d.max_stocks } : null;
}

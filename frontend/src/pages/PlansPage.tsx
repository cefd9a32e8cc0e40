import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router-dom';
import { ApiError, errorMessage } from '../api/client';
import { changeTier, getTiers, getWatchlist, queryKeys, removeFromWatchlist } from '../api/endpoints';
import type { Tier, User } from '../api/types';
import { useAuth } from '../auth';
import { Alert, Badge, Button, Card, RetryAlert, Skeleton } from '../components/ui';
import { usePageTitle } from '../lib/pageTitle';
import { MODEL_ORDER, modelLongName, tierName, tierRank } from '../lib/models';
import { useToast } from '../toast';

export default function PlansPage() {
  usePageTitle('Plans');
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
      {error ? (
        <PlanChangeError
          tier={error.tier}
          err={error.err}
          tierNames={Object.fromEntries(list.map((t) => [t.tier, t.name]))}
          onSwitch={(t) => change.mutate(t)}
        />
      ) : null}
      {tiers.isPending ? (
        <div className="plans">
          <Skeleton height={260} />
          <Skeleton height={260} />
          <Skeleton height={260} />
        </div>
      ) : tiers.isError ? (
        <RetryAlert title="Could not load the plans." message={errorMessage(tiers.error)} onRetry={() => tiers.refetch()} retrying={tiers.isFetching} />
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
                <div className="small muted" data-testid="plan-alerts">
                  {t.max_alerts} price and signal alerts
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
function PlanChangeError({
  tier,
  err,
  tierNames,
  onSwitch,
}: {
  tier: Tier;
  err: unknown;
  tierNames: Record<string, string>;
  onSwitch: (tier: Tier) => void;
}) {
  const name = tierNames[tier] ?? tierName(tier);
  const over = overLimit(err);
  return (
    <Alert kind="error" data-testid="plan-error">
      <strong className="alert-title">Can't switch to {name} yet</strong>
      {over ? (
        <span>
          You track {over.tracked} stocks and the {name} plan allows {over.max_stocks}. Remove {over.tracked - over.max_stocks}{' '}
          {over.tracked - over.max_stocks === 1 ? 'stock' : 'stocks'} from your{' '}
          <Link to="/">dashboard</Link> first, then switch, or choose below which to keep.
        </span>
      ) : (
        <span>{errorMessage(err)}</span>
      )}
      {over ? <KeepChooser tier={tier} name={name} keep={over.max_stocks} onSwitch={onSwitch} /> : null}
    </Alert>
  );
}

/** Pick which stocks stay within the smaller plan; the rest are removed, then the plan switches. */
function KeepChooser({ tier, name, keep, onSwitch }: { tier: Tier; name: string; keep: number; onSwitch: (tier: Tier) => void }) {
  const qc = useQueryClient();
  const watchlist = useQuery({ queryKey: queryKeys.watchlist, queryFn: getWatchlist, meta: { silent: true } });
  const symbols = watchlist.data?.data.map((i) => i.symbol) ?? [];
  // The first ones added are kept by default: the newest additions go first.
  const [kept, setKept] = useState<Set<string> | null>(null);
  const chosen = kept ?? new Set(symbols.slice(0, keep));
  const drop = symbols.filter((s) => !chosen.has(s));
  const apply = useMutation({
    mutationFn: async () => {
      for (const s of drop) await removeFromWatchlist(s);
    },
    onSuccess: () => onSwitch(tier),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: queryKeys.watchlist });
      void qc.invalidateQueries({ queryKey: queryKeys.dashboard });
    },
  });
  if (!watchlist.data) return null;
  const toggle = (s: string) => {
    const next = new Set(chosen);
    if (next.has(s)) next.delete(s);
    else if (next.size < keep) next.add(s);
    setKept(next);
  };
  return (
    <fieldset className="keep-chooser" data-testid="keep-chooser">
      <legend>
        Keep {keep} of {symbols.length} ({chosen.size} chosen)
      </legend>
      <div className="keep-list">
        {symbols.map((s) => (
          <label key={s} className="keep-item">
            <input type="checkbox" checked={chosen.has(s)} disabled={!chosen.has(s) && chosen.size >= keep} onChange={() => toggle(s)} data-testid={`keep-${s}`} />{' '}
            {s}
          </label>
        ))}
      </div>
      <Button variant="primary" size="sm" loading={apply.isPending} disabled={chosen.size !== keep} onClick={() => apply.mutate()} data-testid="keep-apply">
        Remove {drop.length} and switch to {name}
      </Button>
    </fieldset>
  );
}

/** The 409 `watchlist_exceeds_tier` details ({tracked, max_stocks}), if that is what err is. */
function overLimit(err: unknown): { tracked: number; max_stocks: number } | null {
  if (!(err instanceof ApiError) || err.code !== 'watchlist_exceeds_tier') return null;
  const d = err.details as { tracked?: unknown; max_stocks?: unknown } | null | undefined;
  return d && typeof d.tracked === 'number' && typeof d.max_stocks === 'number' ? { tracked: d.tracked, max_stocks: d.max_stocks } : null;
}

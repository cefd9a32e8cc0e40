import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { errorMessage } from '../api/client';
import { changeTier, getTiers, queryKeys } from '../api/endpoints';
import type { Tier, User } from '../api/types';
import { useAuth } from '../auth';
import { Alert, Badge, Button, Card, Skeleton } from '../components/ui';
import { modelName, sortModels, tierRank } from '../lib/models';
import { useToast } from '../toast';

export default function PlansPage() {
  const { user } = useAuth();
  const qc = useQueryClient();
  const { push } = useToast();
  const tiers = useQuery({ queryKey: queryKeys.tiers, queryFn: getTiers, staleTime: 10 * 60_000 });
  const [error, setError] = useState<string | null>(null);

  const change = useMutation({
    mutationFn: changeTier,
    meta: { silent: true },
    onMutate: () => setError(null),
    onSuccess: (updated: User) => {
      qc.setQueryData(queryKeys.me, updated);
      push(`You're now on the ${updated.subscription_tier} plan`, 'success');
      void qc.invalidateQueries({ queryKey: queryKeys.me });
      void qc.invalidateQueries({ queryKey: queryKeys.watchlist });
      void qc.invalidateQueries({ queryKey: queryKeys.dashboard });
      void qc.invalidateQueries({ queryKey: ['analysis'] });
    },
    onError: (err) => {
      const msg = errorMessage(err);
      setError(msg);
      push(msg, 'error');
    },
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
        <Alert kind="error" data-testid="plan-error">
          {error}
        </Alert>
      ) : null}
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
                <div className="price-label">{t.price_label ?? (t.tier === 'free' ? 'Free' : '—')}</div>
                <div>
                  Up to <strong>{t.max_stocks}</strong> stocks
                </div>
                <div>
                  <div className="small muted">AI analysts</div>
                  <ul>
                    {sortModels(t.models).map((m) => (
                      <li key={m}>{modelName(m)}</li>
                    ))}
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
      <p className="small muted">Plan changes take effect immediately. Downgrading needs your watchlist to fit the new limit.</p>
    </div>
  );
}

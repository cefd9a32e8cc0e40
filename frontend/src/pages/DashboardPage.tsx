import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useWindowVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useMemo, useRef } from 'react';
import { ApiError } from '../api/client';
import { addToWatchlist, getDashboard, getTiers, getWatchlist, queryKeys, removeFromWatchlist } from '../api/endpoints';
import type { DashboardItem, Watchlist } from '../api/types';
import { useAuth } from '../auth';
import { StockRow } from '../components/StockRow';
import { SymbolSearch } from '../components/SymbolSearch';
import { UpgradePrompt } from '../components/UpgradePrompt';
import { VerifyEmailBanner } from '../components/VerifyEmailBanner';
import { Alert, EmptyState, Skeleton } from '../components/ui';
import { shouldVirtualize } from '../lib/watchlist';
import { useToast } from '../toast';

export default function DashboardPage() {
  const { user } = useAuth();
  const qc = useQueryClient();
  const { push } = useToast();

  // Progressive loading: /watchlist is cheap and paints the cards; /dashboard fills them in.
  const watchlist = useQuery({ queryKey: queryKeys.watchlist, queryFn: getWatchlist });
  // Started once /watchlist has answered, so a slow /dashboard can't hold up the first paint.
  const dashboard = useQuery({
    queryKey: queryKeys.dashboard,
    queryFn: getDashboard,
    enabled: !watchlist.isPending,
  });
  const tiers = useQuery({ queryKey: queryKeys.tiers, queryFn: getTiers, staleTime: 10 * 60_000, meta: { silent: true } });

  const bySymbol = useMemo(() => {
    const m = new Map<string, DashboardItem>();
    for (const it of dashboard.data?.data ?? []) m.set(it.symbol, it);
    return m;
  }, [dashboard.data]);

  const items = watchlist.data?.data ?? dashboard.data?.data ?? [];
  const count = watchlist.data?.count ?? items.length;
  const max = watchlist.data?.max_stocks ?? dashboard.data?.max_stocks ?? user?.max_stocks ?? 0;

  const add = useMutation({
    mutationFn: addToWatchlist,
    meta: { silent: true },
    onSuccess: (item) => {
      qc.setQueryData<Watchlist>(queryKeys.watchlist, (old) =>
        old && !old.data.some((d) => d.symbol === item.symbol)
          ? { ...old, data: [...old.data, item], count: old.count + 1 }
          : old,
      );
      push(`Added ${item.symbol}`, 'success');
      void qc.invalidateQueries({ queryKey: queryKeys.watchlist });
      void qc.invalidateQueries({ queryKey: queryKeys.dashboard });
    },
    onError: (err, symbol) => {
      const msg = err instanceof ApiError ? err.message : `Could not add ${symbol}`;
      push(msg, 'error');
      if (err instanceof ApiError && err.code === 'watchlist_limit_reached') {
        void qc.invalidateQueries({ queryKey: queryKeys.watchlist });
      }
    },
  });

  const remove = useMutation({
    mutationFn: removeFromWatchlist,
    onMutate: async (symbol) => {
      await qc.cancelQueries({ queryKey: queryKeys.watchlist });
      const prev = qc.getQueryData<Watchlist>(queryKeys.watchlist);
      if (prev) {
        qc.setQueryData<Watchlist>(queryKeys.watchlist, {
          ...prev,
          data: prev.data.filter((d) => d.symbol !== symbol),
          count: Math.max(0, prev.count - 1),
        });
      }
      return { prev };
    },
    onError: (_err, _symbol, ctx) => {
      if (ctx?.prev) qc.setQueryData(queryKeys.watchlist, ctx.prev);
    },
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: queryKeys.watchlist });
      void qc.invalidateQueries({ queryKey: queryKeys.dashboard });
    },
  });

  const mutateAdd = add.mutate;
  const mutateRemove = remove.mutate;
  const onSelect = useCallback((symbol: string) => mutateAdd(symbol), [mutateAdd]);
  const onRemove = useCallback((symbol: string) => mutateRemove(symbol), [mutateRemove]);

  const dashLoading = dashboard.isPending || (dashboard.isFetching && items.some((i) => !bySymbol.has(i.symbol)));

  return (
    <div className="stack">
      <div className="page-head">
        <h1>Dashboard</h1>
        <span className="counter" data-testid="watchlist-counter" aria-label={`${count} of ${max} stocks in watchlist`}>
          {watchlist.isPending ? <Skeleton width={50} /> : `${count} / ${max}`}
        </span>
      </div>
      <VerifyEmailBanner />
      <div className="toolbar">
        <SymbolSearch onSelect={onSelect} disabled={add.isPending} />
      </div>
      {user && !watchlist.isPending ? (
        <UpgradePrompt count={count} max={max} tier={user.subscription_tier} tiers={tiers.data?.data} />
      ) : null}
      {watchlist.isError && !dashboard.data ? (
        <Alert kind="error">Could not load your watchlist: {watchlist.error.message}</Alert>
      ) : null}
      {watchlist.isPending && !dashboard.data ? (
        <div className="stock-list" data-testid="watchlist-loading" aria-busy="true">
          {[0, 1, 2].map((i) => (
            <div key={i} className="card">
              <Skeleton height={44} />
            </div>
          ))}
        </div>
      ) : items.length === 0 ? (
        <EmptyState title="Your watchlist is empty" data-testid="empty-watchlist">
          Search for a symbol above (try AAPL or MSFT) to start tracking it with AI analyst scores.
        </EmptyState>
      ) : (
        <WatchlistRows
          symbols={items.map((i) => i.symbol)}
          bySymbol={bySymbol}
          loading={dashLoading}
          removingSymbol={remove.isPending ? remove.variables : undefined}
          onRemove={onRemove}
        />
      )}
      {dashboard.isError ? (
        <Alert kind="warn">Quotes and analyses are unavailable right now: {dashboard.error.message}</Alert>
      ) : null}
    </div>
  );
}

function WatchlistRows({
  symbols,
  bySymbol,
  loading,
  removingSymbol,
  onRemove,
}: {
  symbols: string[];
  bySymbol: Map<string, DashboardItem>;
  loading: boolean;
  removingSymbol: string | undefined;
  onRemove: (s: string) => void;
}) {
  if (shouldVirtualize(symbols.length)) {
    return <VirtualRows symbols={symbols} bySymbol={bySymbol} loading={loading} removingSymbol={removingSymbol} onRemove={onRemove} />;
  }
  return (
    <div className="stock-list" data-testid="watchlist" role="list">
      {symbols.map((s) => (
        <div role="listitem" key={s}>
          <StockRow
            symbol={s}
            item={bySymbol.get(s)}
            loading={loading && !bySymbol.has(s)}
            removing={removingSymbol === s}
            onRemove={onRemove}
          />
        </div>
      ))}
    </div>
  );
}

function VirtualRows({
  symbols,
  bySymbol,
  loading,
  removingSymbol,
  onRemove,
}: {
  symbols: string[];
  bySymbol: Map<string, DashboardItem>;
  loading: boolean;
  removingSymbol: string | undefined;
  onRemove: (s: string) => void;
}) {
  const listRef = useRef<HTMLDivElement>(null);
  const virtualizer = useWindowVirtualizer({
    count: symbols.length,
    estimateSize: () => 96,
    overscan: 6,
    scrollMargin: listRef.current?.offsetTop ?? 0,
  });
  return (
    <div ref={listRef} data-testid="watchlist" data-virtualized="true" role="list" style={{ position: 'relative', height: virtualizer.getTotalSize() }}>
      {virtualizer.getVirtualItems().map((v) => {
        const s = symbols[v.index] as string;
        return (
          <div
            role="listitem"
            key={s}
            data-index={v.index}
            ref={virtualizer.measureElement}
            style={{ position: 'absolute', top: 0, left: 0, right: 0, transform: `translateY(${v.start - virtualizer.options.scrollMargin}px)`, paddingBottom: '0.6rem' }}
          >
            <StockRow symbol={s} item={bySymbol.get(s)} loading={loading && !bySymbol.has(s)} removing={removingSymbol === s} onRemove={onRemove} />
          </div>
        );
      })}
    </div>
  );
}

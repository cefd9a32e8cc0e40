import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useWindowVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import { addToWatchlist, getDashboard, getTiers, getWatchlist, queryKeys, removeFromWatchlist } from '../api/endpoints';
import type { DashboardItem, Watchlist } from '../api/types';
import { useAuth } from '../auth';
import { StockRow } from '../components/StockRow';
import { SymbolSearch } from '../components/SymbolSearch';
import { UpgradePrompt } from '../components/UpgradePrompt';
import { VerifyEmailBanner } from '../components/VerifyEmailBanner';
import { Alert, EmptyState, LockIcon, Skeleton } from '../components/ui';
import { MODEL_ORDER, modelLongName, modelShortName } from '../lib/models';
import { shouldVirtualize } from '../lib/watchlist';
import { useToast } from '../toast';

/** A card's height (plus the gap) before it is measured. */
const ROW_ESTIMATE_PX = 92;

export default function DashboardPage() {
  const { user } = useAuth();
  const qc = useQueryClient();
  const { push } = useToast();

  // Progressive loading: both requests start at once; the cheap /watchlist paints the
  // cards, the heavier /dashboard (quotes, sparklines, analysis summaries) fills them in.
  const watchlist = useQuery({ queryKey: queryKeys.watchlist, queryFn: getWatchlist });
  const dashboard = useQuery({ queryKey: queryKeys.dashboard, queryFn: getDashboard });
  const tiers = useQuery({ queryKey: queryKeys.tiers, queryFn: getTiers, staleTime: 10 * 60_000, meta: { silent: true } });

  const bySymbol = useMemo(() => {
    const m = new Map<string, DashboardItem>();
    for (const it of dashboard.data?.data ?? []) m.set(it.symbol, it);
    return m;
  }, [dashboard.data]);

  const items = watchlist.data?.data ?? dashboard.data?.data ?? [];
  const symbols = useMemo(() => items.map((i) => i.symbol), [items]);
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
      <VerifyEmailBanner />
      <div className="page-head">
        <h1>Dashboard</h1>
        <span className="counter" data-testid="watchlist-counter" aria-label={`${count} of ${max} stocks in watchlist`}>
          {watchlist.isPending ? <Skeleton width={50} /> : `${count} / ${max}`}
        </span>
      </div>
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
          symbols={symbols}
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

interface RowsProps {
  symbols: string[];
  bySymbol: Map<string, DashboardItem>;
  loading: boolean;
  removingSymbol: string | undefined;
  onRemove: (s: string) => void;
}

/** The cards, with column headers; virtualised past VIRTUALIZE_THRESHOLD rows. */
function WatchlistRows(props: RowsProps) {
  const { symbols, bySymbol } = props;
  const scored = symbols.filter((s) => bySymbol.get(s)?.analysis?.consensus).length;
  const virtual = shouldVirtualize(symbols.length);
  return (
    <div className="watchlist" data-testid="watchlist" data-count={symbols.length} data-scored={scored} data-virtualized={virtual ? 'true' : 'false'}>
      <ListHeader />
      {virtual ? <VirtualRows {...props} /> : <PlainRows {...props} />}
      <AnalystLegend showLocked={symbols.some((s) => (bySymbol.get(s)?.analysis?.locked_models?.length ?? 0) > 0)} />
    </div>
  );
}

function ListHeader() {
  return (
    <div className="stock-list-head" aria-hidden="true">
      <span>Stock</span>
      <span>Price · day</span>
      <span>30 days</span>
      <span>Consensus</span>
      <span>Analyst scores</span>
      <span />
    </div>
  );
}

/** What the analyst badges' abbreviations stand for. */
function AnalystLegend({ showLocked }: { showLocked: boolean }) {
  return (
    <p className="analyst-legend small muted" data-testid="analyst-legend">
      <span className="legend-title">Analyst scores (0–100):</span>
      {MODEL_ORDER.map((m) => (
        <span key={m}>
          <b>{modelShortName(m)}</b> {modelLongName(m)}
        </span>
      ))}
      {showLocked ? (
        <span>
          <LockIcon /> not on your plan
        </span>
      ) : null}
    </p>
  );
}

function PlainRows({ symbols, bySymbol, loading, removingSymbol, onRemove }: RowsProps) {
  return (
    <div className="stock-list" role="list" aria-label="Watchlist">
      {symbols.map((s) => (
        <div role="listitem" key={s}>
          <StockRow symbol={s} item={bySymbol.get(s)} loading={loading && !bySymbol.has(s)} removing={removingSymbol === s} onRemove={onRemove} />
        </div>
      ))}
    </div>
  );
}

/** Window-scrolled virtual list: only the cards near the viewport are mounted. */
function VirtualRows({ symbols, bySymbol, loading, removingSymbol, onRemove }: RowsProps) {
  const listRef = useRef<HTMLDivElement>(null);
  const [offset, setOffset] = useState(0);
  // The list's distance from the page top, measured after layout (it is 0 before mount).
  useLayoutEffect(() => {
    const el = listRef.current;
    if (!el) return;
    const measure = () => setOffset(el.getBoundingClientRect().top + window.scrollY);
    measure();
    window.addEventListener('resize', measure);
    return () => window.removeEventListener('resize', measure);
  }, []);
  const virtualizer = useWindowVirtualizer({
    count: symbols.length,
    estimateSize: () => ROW_ESTIMATE_PX,
    overscan: 4,
    scrollMargin: offset,
    getItemKey: (i) => symbols[i] ?? i,
  });
  return (
    <div ref={listRef} role="list" aria-label="Watchlist" className="stock-list-virtual" style={{ height: virtualizer.getTotalSize() }}>
      {virtualizer.getVirtualItems().map((v) => {
        const s = symbols[v.index] as string;
        return (
          <div
            role="listitem"
            key={v.key}
            data-index={v.index}
            ref={virtualizer.measureElement}
            className="virtual-row"
            style={{ transform: `translateY(${v.start - virtualizer.options.scrollMargin}px)` }}
          >
            <StockRow symbol={s} item={bySymbol.get(s)} loading={loading && !bySymbol.has(s)} removing={removingSymbol === s} onRemove={onRemove} />
          </div>
        );
      })}
    </div>
  );
}

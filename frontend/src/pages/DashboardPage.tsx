import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useWindowVirtualizer } from '@tanstack/react-virtual';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { ApiError, errorMessage, tokenSubject } from '../api/client';
import { addToWatchlist, getDashboard, getTiers, getWatchlist, queryKeys, removeFromWatchlist } from '../api/endpoints';
import type { Dashboard, DashboardItem, Watchlist } from '../api/types';
import { useAuth } from '../auth';
import { PortfolioSummary } from '../components/PortfolioSummary';
import { StockRow } from '../components/StockRow';
import { SymbolSearch } from '../components/SymbolSearch';
import { UpgradePrompt } from '../components/UpgradePrompt';
import { VerifyEmailBanner } from '../components/VerifyEmailBanner';
import { Alert, Button, EmptyState, LockIcon, RetryAlert, Skeleton } from '../components/ui';
import {
  applyCustomOrder,
  DEFAULT_SORT,
  filterSymbols,
  moveSymbol,
  nextSort,
  SIGNAL_LABEL,
  sortFor,
  sortSymbols,
  summarize,
  watchlistCsv,
  type SignalFilter,
  type Sort,
  type SortKey,
} from '../lib/dashboardTable';
import { formatDateTime } from '../lib/format';
import { MODEL_ORDER, modelLongName, modelShortName } from '../lib/models';
import { usePageTitle } from '../lib/pageTitle';
import { loadSnapshot, saveSnapshot } from '../lib/snapshot';
import { shouldVirtualize, upgradePrompt } from '../lib/watchlist';
import { useToast } from '../toast';

/** A card's height (plus the gap) before it is measured. */
const ROW_ESTIMATE_PX = 92;
const SORT_KEY = 'stockdash.sort';
const ORDER_KEY = 'stockdash.order.';

/** The user's own row order, kept in this browser (per account). */
function loadOrder(owner: string | undefined): string[] {
  try {
    const v = JSON.parse(localStorage.getItem(ORDER_KEY + (owner ?? '')) ?? '[]') as unknown;
    return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
  } catch {
    return [];
  }
}

function loadSort(): Sort {
  try {
    const v = JSON.parse(localStorage.getItem(SORT_KEY) ?? 'null') as Sort | null;
    return v && typeof v.key === 'string' && (v.dir === 'asc' || v.dir === 'desc') ? v : DEFAULT_SORT;
  } catch {
    return DEFAULT_SORT;
  }
}

export default function DashboardPage() {
  usePageTitle('Dashboard');
  const { user } = useAuth();
  const qc = useQueryClient();
  const { push } = useToast();
  const owner = tokenSubject();

  // Progressive loading: both requests start at once; the cheap /watchlist paints the
  // rows, the heavier /dashboard (quotes, sparklines, analysis summaries) fills them in.
  // Silent: a failure is shown on the page with a Retry, not as a passing toast.
  const watchlist = useQuery({ queryKey: queryKeys.watchlist, queryFn: getWatchlist, meta: { silent: true } });
  const dashboard = useQuery({ queryKey: queryKeys.dashboard, queryFn: getDashboard, meta: { silent: true } });
  const tiers = useQuery({ queryKey: queryKeys.tiers, queryFn: getTiers, staleTime: 10 * 60_000, meta: { silent: true } });

  // The last dashboard that loaded, for when the server can't be reached (shown marked stale).
  const [saved] = useState(() => loadSnapshot<Dashboard>('dashboard', owner));
  useEffect(() => {
    if (dashboard.data) saveSnapshot('dashboard', owner, dashboard.data);
  }, [dashboard.data, owner]);
  const usingSaved = !dashboard.data && dashboard.isError && !!saved;
  const dashData = dashboard.data ?? (usingSaved ? saved?.data : undefined);

  const bySymbol = useMemo(() => {
    const m = new Map<string, DashboardItem>();
    for (const it of dashData?.data ?? []) m.set(it.symbol, it);
    return m;
  }, [dashData]);

  const items = watchlist.data?.data ?? dashData?.data ?? [];
  const [customOrder, setCustomOrder] = useState<string[]>(() => loadOrder(owner));
  const symbols = useMemo(() => applyCustomOrder(items.map((i) => i.symbol), customOrder), [items, customOrder]);
  const symbolsRef = useRef(symbols);
  symbolsRef.current = symbols;
  const onMove = useCallback(
    (symbol: string, delta: number) => {
      const next = moveSymbol(symbolsRef.current, symbol, delta);
      setCustomOrder(next);
      try {
        localStorage.setItem(ORDER_KEY + (owner ?? ''), JSON.stringify(next));
      } catch {
        /* not kept: fine */
      }
    },
    [owner],
  );
  const tracked = useMemo(() => new Set(symbols), [symbols]);
  const count = watchlist.data?.count ?? items.length;
  const max = watchlist.data?.max_stocks ?? dashData?.max_stocks ?? user?.max_stocks ?? 0;

  const [sort, setSortState] = useState<Sort>(loadSort);
  const setSort = useCallback((s: Sort) => {
    setSortState(s);
    try {
      localStorage.setItem(SORT_KEY, JSON.stringify(s));
    } catch {
      /* not kept: fine */
    }
  }, []);
  const [filterText, setFilterText] = useState('');
  const [signal, setSignal] = useState<SignalFilter>('all');
  const shown = useMemo(
    () => sortSymbols(filterSymbols(symbols, bySymbol, filterText, signal), bySymbol, sort),
    [symbols, bySymbol, filterText, signal, sort],
  );
  const summary = useMemo(() => summarize(symbols, bySymbol), [symbols, bySymbol]);

  const retryAll = useCallback(
    () => Promise.all([watchlist.refetch(), dashboard.refetch()]),
    [watchlist, dashboard],
  );

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
      if (err instanceof ApiError && err.code === 'watchlist_limit_reached' && user) {
        // Say what applies to this plan: at the top tier "upgrade" would be a dead end.
        const state = upgradePrompt(max || count, max, user.subscription_tier, tiers.data?.data);
        push(state.message || errorMessage(err), 'error');
        void qc.invalidateQueries({ queryKey: queryKeys.watchlist });
        return;
      }
      push(err instanceof ApiError && err.status < 500 ? err.message : `Could not add ${symbol}. ${errorMessage(err)}`, 'error');
    },
  });
  const mutateAdd = add.mutate;

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
    onSuccess: (_res, symbol) => {
      // Removal is one click, so it can be taken back (Gmail-style undo).
      push(`Removed ${symbol} from your watchlist`, 'info', { label: 'Undo', onClick: () => mutateAdd(symbol) });
    },
    onError: (_err, _symbol, ctx) => {
      if (ctx?.prev) qc.setQueryData(queryKeys.watchlist, ctx.prev);
    },
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: queryKeys.watchlist });
      void qc.invalidateQueries({ queryKey: queryKeys.dashboard });
    },
  });

  const mutateRemove = remove.mutate;
  const onSelect = useCallback(
    (symbol: string) => {
      if (tracked.has(symbol)) push(`${symbol} is already on your watchlist`, 'info');
      else mutateAdd(symbol);
    },
    [mutateAdd, tracked, push],
  );
  const onRemove = useCallback((symbol: string) => mutateRemove(symbol), [mutateRemove]);

  const exportCsv = useCallback(() => {
    const blob = new Blob([watchlistCsv(shown, bySymbol)], { type: 'text/csv;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `stockdash-watchlist-${new Date().toISOString().slice(0, 10)}.csv`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 1000);
  }, [shown, bySymbol]);

  const dashLoading = !usingSaved && (dashboard.isPending || (dashboard.isFetching && items.some((i) => !bySymbol.has(i.symbol))));
  const dashFailed = dashboard.isError && !dashboard.isFetching;
  const nothingLoaded = watchlist.isError && !dashData && !watchlist.isFetching;

  return (
    <div className="stack">
      <VerifyEmailBanner />
      <div className="page-head">
        <h1>Dashboard</h1>
        <span className="counter" data-testid="watchlist-counter" aria-label={`${count} of ${max} stocks in watchlist`}>
          {watchlist.isPending && !dashData ? <Skeleton width={50} /> : `${count} / ${max}`}
        </span>
      </div>
      <div className="toolbar">
        <SymbolSearch onSelect={onSelect} disabled={add.isPending} tracked={tracked} />
      </div>
      {user && !watchlist.isPending ? (
        <UpgradePrompt count={count} max={max} tier={user.subscription_tier} tiers={tiers.data?.data} />
      ) : null}
      {nothingLoaded ? (
        <RetryAlert
          title="Could not load your watchlist."
          message={errorMessage(watchlist.error)}
          onRetry={retryAll}
          retrying={watchlist.isFetching}
          testId="watchlist-error"
        />
      ) : usingSaved && saved ? (
        <RetryAlert
          kind="warn"
          title={`Offline: showing your dashboard as last loaded ${formatDateTime(saved.savedAt)}.`}
          message={`Prices and scores may be out of date. ${errorMessage(dashboard.error)}`}
          onRetry={retryAll}
          retrying={dashboard.isFetching}
          testId="dashboard-stale"
        />
      ) : dashFailed ? (
        <RetryAlert
          kind="warn"
          title={dashboard.data ? 'Could not refresh quotes and analyses.' : 'Quotes and analyses could not be loaded.'}
          message={errorMessage(dashboard.error)}
          onRetry={() => dashboard.refetch()}
          retrying={dashboard.isFetching}
          testId="dashboard-error"
        />
      ) : null}
      {watchlist.isPending && !dashData ? (
        <div className="stock-list" data-testid="watchlist-loading" aria-busy="true">
          {[0, 1, 2].map((i) => (
            <div key={i} className="card">
              <Skeleton height={44} />
            </div>
          ))}
        </div>
      ) : nothingLoaded ? null : items.length === 0 ? (
        <EmptyState title="Your watchlist is empty" data-testid="empty-watchlist">
          Search the S&amp;P 500 above (try AAPL or MSFT) to start tracking a stock with AI analyst scores.
        </EmptyState>
      ) : (
        <>
          <PortfolioSummary summary={summary} loading={dashLoading} stale={usingSaved} />
          <div className="table-tools" role="search" aria-label="Filter the watchlist">
            <div className="field">
              <label htmlFor="wl-filter">Filter</label>
              <input
                id="wl-filter"
                className="input"
                type="search"
                placeholder="Symbol or company"
                value={filterText}
                onChange={(e) => setFilterText(e.target.value)}
                data-testid="watchlist-filter"
              />
            </div>
            <div className="field">
              <label htmlFor="wl-signal">Signal</label>
              <select id="wl-signal" className="select input" value={signal} onChange={(e) => setSignal(e.target.value as SignalFilter)} data-testid="signal-filter">
                <option value="all">All signals</option>
                {(Object.keys(SIGNAL_LABEL) as (keyof typeof SIGNAL_LABEL)[]).map((k) => (
                  <option key={k} value={k}>
                    {SIGNAL_LABEL[k]} ({summary.bySignal[k]})
                  </option>
                ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor="wl-sort">Sort by</label>
              <select
                id="wl-sort"
                className="select input"
                value={sort.key}
                onChange={(e) => setSort(sortFor(e.target.value as SortKey))}
                data-testid="sort-select"
              >
                {(Object.keys(SORT_NAMES) as SortKey[]).map((k) => (
                  <option key={k} value={k}>
                    {SORT_NAMES[k]}
                  </option>
                ))}
              </select>
            </div>
            <Button size="sm" onClick={exportCsv} data-testid="export-csv" disabled={!dashData}>
              Export CSV
            </Button>
          </div>
          {shown.length === 0 ? (
            <p className="muted" data-testid="filter-empty">
              No stock on your watchlist matches this filter.{' '}
              <button
                type="button"
                className="link-btn"
                onClick={() => {
                  setFilterText('');
                  setSignal('all');
                }}
              >
                Clear the filter
              </button>
            </p>
          ) : (
            <WatchlistRows
              symbols={shown}
              total={symbols.length}
              bySymbol={bySymbol}
              loading={dashLoading}
              failed={dashFailed && !usingSaved}
              removingSymbol={remove.isPending ? remove.variables : undefined}
              onRemove={onRemove}
              sort={sort}
              onSort={(k) => setSort(nextSort(sort, k))}
              commonAsOf={summary.asOf}
              // Moving rows only makes sense in your own order with every row shown.
              onMove={sort.key === 'order' && sort.dir === 'asc' && shown.length === symbols.length ? onMove : undefined}
            />
          )}
        </>
      )}
      {watchlist.isError && dashData && !usingSaved ? (
        <Alert kind="warn">Your watchlist could not be refreshed; showing the last list the dashboard returned.</Alert>
      ) : null}
    </div>
  );
}

const SORT_NAMES: Record<SortKey, string> = {
  order: 'Your order',
  symbol: 'Symbol',
  price: 'Price',
  change: 'Day change %',
  trend: '30-day change %',
  consensus: 'Consensus score',
};

interface RowsProps {
  symbols: string[];
  total: number;
  bySymbol: Map<string, DashboardItem>;
  loading: boolean;
  failed: boolean;
  removingSymbol: string | undefined;
  onRemove: (s: string) => void;
  sort: Sort;
  onSort: (key: SortKey) => void;
  commonAsOf: string | null;
  onMove?: (symbol: string, delta: number) => void;
}

/** The watchlist as a table (ARIA table roles over a responsive grid); virtualised past VIRTUALIZE_THRESHOLD rows. */
function WatchlistRows(props: RowsProps) {
  const { symbols, bySymbol, total } = props;
  const scored = symbols.filter((s) => bySymbol.get(s)?.analysis?.consensus).length;
  const virtual = shouldVirtualize(symbols.length);
  return (
    <div className="watchlist" data-testid="watchlist" data-count={symbols.length} data-scored={scored} data-virtualized={virtual ? 'true' : 'false'}>
      <div
        role="table"
        aria-label={`Watchlist, ${symbols.length === total ? `${total} stocks` : `${symbols.length} of ${total} stocks shown`}`}
        aria-rowcount={symbols.length + 1}
        aria-describedby="analyst-legend"
        data-testid="watchlist-table"
      >
        <div role="rowgroup">
          <ListHeader sort={props.sort} onSort={props.onSort} />
        </div>
        {virtual ? <VirtualRows {...props} /> : <PlainRows {...props} />}
      </div>
      <AnalystLegend showLocked={symbols.some((s) => (bySymbol.get(s)?.analysis?.locked_models?.length ?? 0) > 0)} />
    </div>
  );
}

function SortHeader({ label, sortKey, sort, onSort, className }: { label: string; sortKey: SortKey; sort: Sort; onSort: (k: SortKey) => void; className?: string }) {
  const active = sort.key === sortKey;
  const ariaSort = active ? (sort.dir === 'asc' ? 'ascending' : 'descending') : 'none';
  return (
    <div role="columnheader" aria-sort={ariaSort} className={className}>
      <button type="button" className={`sort-btn ${active ? 'active' : ''}`} onClick={() => onSort(sortKey)} data-testid={`sort-${sortKey}`}>
        {label}
        <span aria-hidden="true" className="sort-arrow">
          {active ? (sort.dir === 'asc' ? '▲' : '▼') : '↕'}
        </span>
      </button>
    </div>
  );
}

function ListHeader({ sort, onSort }: { sort: Sort; onSort: (k: SortKey) => void }) {
  return (
    <div className="stock-list-head" role="row" aria-rowindex={1}>
      <SortHeader label="Stock" sortKey="symbol" sort={sort} onSort={onSort} />
      <SortHeader label="Price · day" sortKey="change" sort={sort} onSort={onSort} />
      <SortHeader label="30 days" sortKey="trend" sort={sort} onSort={onSort} className="head-spark" />
      <SortHeader label="Consensus" sortKey="consensus" sort={sort} onSort={onSort} />
      <div role="columnheader" className="head-plain">
        Analyst scores
      </div>
      <div role="columnheader" className="head-plain">
        <span className="visually-hidden">Actions</span>
      </div>
    </div>
  );
}

/** What the analyst badges' abbreviations stand for. */
function AnalystLegend({ showLocked }: { showLocked: boolean }) {
  return (
    <p className="analyst-legend small muted" data-testid="analyst-legend" id="analyst-legend">
      <span className="legend-title">Analyst scores (0–100, NR = not rated):</span>
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

function PlainRows({ symbols, bySymbol, loading, failed, removingSymbol, onRemove, commonAsOf, onMove }: RowsProps) {
  return (
    <div className="stock-list" role="rowgroup">
      {symbols.map((s, i) => (
        <StockRow
          key={s}
          symbol={s}
          item={bySymbol.get(s)}
          loading={loading && !bySymbol.has(s)}
          failed={failed}
          removing={removingSymbol === s}
          onRemove={onRemove}
          rowIndex={i + 2}
          commonAsOf={commonAsOf}
          onMove={onMove}
          canMoveUp={i > 0}
          canMoveDown={i < symbols.length - 1}
        />
      ))}
    </div>
  );
}

/** Window-scrolled virtual list: only the rows near the viewport are mounted. */
function VirtualRows({ symbols, bySymbol, loading, failed, removingSymbol, onRemove, commonAsOf, onMove }: RowsProps) {
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
    <div ref={listRef} role="rowgroup" className="stock-list-virtual" style={{ height: virtualizer.getTotalSize() }}>
      {virtualizer.getVirtualItems().map((v) => {
        const s = symbols[v.index] as string;
        return (
          <div
            role="none"
            key={v.key}
            data-index={v.index}
            ref={virtualizer.measureElement}
            className="virtual-row"
            style={{ transform: `translateY(${v.start - virtualizer.options.scrollMargin}px)` }}
          >
            <StockRow
              symbol={s}
              item={bySymbol.get(s)}
              loading={loading && !bySymbol.has(s)}
              failed={failed}
              removing={removingSymbol === s}
              onRemove={onRemove}
              rowIndex={v.index + 2}
              commonAsOf={commonAsOf}
              onMove={onMove}
              canMoveUp={v.index > 0}
              canMoveDown={v.index < symbols.length - 1}
            />
          </div>
        );
      })}
    </div>
  );
}

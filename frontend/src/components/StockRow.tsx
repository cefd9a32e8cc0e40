import { memo } from 'react';
import { Link } from 'react-router-dom';
import type { DashboardItem } from '../api/types';
import { changeTone, formatDateTime, formatPercent, formatPrice, formatChange } from '../lib/format';
import { trendPercent } from '../lib/dashboardTable';
import { sortModels } from '../lib/models';
import { LockedBadge, ScoreBadge, SignalBadge } from './ScoreBadge';
import { Sparkline } from './Sparkline';
import { Badge, Skeleton } from './ui';
import { useLive } from '../live';

export interface StockRowProps {
  symbol: string;
  item: DashboardItem | undefined;
  /** Dashboard data still loading (quote/analysis pending). */
  loading: boolean;
  /** The dashboard request failed: say "unavailable", not "no data". */
  failed?: boolean;
  removing?: boolean;
  onRemove: (symbol: string) => void;
  /** 1-based position among the table's rows (the header is row 1). */
  rowIndex?: number;
  /** The time most rows are "as of": a row repeats it only when its own differs. */
  commonAsOf?: string | null;
  /** Reordering (shown in "your order" only): move this row by one place. */
  onMove?: (symbol: string, delta: number) => void;
  canMoveUp?: boolean;
  canMoveDown?: boolean;
}

/** One watchlist row of the dashboard table. Memoised: re-renders only when its own item changes. */
export const StockRow = memo(function StockRow({
  symbol,
  item,
  loading,
  failed = false,
  removing = false,
  onRemove,
  rowIndex,
  commonAsOf,
  onMove,
  canMoveUp = false,
  canMoveDown = false,
}: StockRowProps) {
  const quote = item?.quote ?? null;
  const analysis = item?.analysis ?? null;
  const tone = changeTone(quote?.change);
  const models = analysis ? sortModels(Object.keys(analysis.analyses)) : [];
  const ready = !loading && !!item;
  const trend = trendPercent(item?.sparkline);
  const unavailable = failed && !item;
  const flash = useLive().flashed.has(symbol);
  return (
    <div
      role="row"
      aria-rowindex={rowIndex}
      className={`card stock-row${flash ? ' live-flash' : ''}`}
      data-live={flash ? 'updated' : undefined}
      data-testid={`stock-row-${symbol}`}
      data-loaded={ready ? 'true' : 'false'}
    >
      <div role="rowheader" style={{ minWidth: 0 }}>
        <Link to={`/stocks/${encodeURIComponent(symbol)}`} className="sym-link" data-testid="stock-link">
          {symbol}
        </Link>
        <div className="company">{quote?.name ?? (loading ? <Skeleton width="70%" /> : '')}</div>
      </div>
      <div role="cell" className="cell-price">
        {quote && quote.price != null ? (
          <>
            <div className="price num" data-testid="price">
              {formatPrice(quote.price)}
            </div>
            <div className={`small num tone-${tone}`}>
              {formatChange(quote.change)} ({formatPercent(quote.change_percent)})<span className="visually-hidden"> today</span>
            </div>
          </>
        ) : loading ? (
          <>
            <Skeleton width={80} height={18} />
            <br />
            <Skeleton width={60} />
          </>
        ) : unavailable ? (
          <span className="muted small" data-testid="row-unavailable">
            Unavailable
          </span>
        ) : (
          <span className="muted small" data-testid="no-price" title={quote?.price_note ?? undefined}>
            No price data
          </span>
        )}
      </div>
      <div role="cell" className="cell-spark">
        {item ? (
          <div className="spark-wrap">
            <Sparkline values={item.sparkline} />
            {trend !== null ? (
              <span className={`small num tone-${changeTone(trend)}`} data-testid="trend-30d">
                {formatPercent(trend, 1)}
                <span className="visually-hidden"> over 30 days</span>
              </span>
            ) : null}
          </div>
        ) : loading ? (
          <Skeleton width={110} height={32} />
        ) : null}
      </div>
      <div role="cell" className="cell-consensus consensus">
        {analysis?.consensus ? (
          <>
            <ScoreBadge score={analysis.consensus.score} large testId="consensus-score" />
            <SignalBadge signal={analysis.consensus.signal} />
          </>
        ) : loading ? (
          <Skeleton width={48} height={24} />
        ) : unavailable ? (
          <span className="muted small">Unavailable</span>
        ) : (
          <span className="muted small" data-testid="not-rated">
            Not rated
          </span>
        )}
      </div>
      <div role="cell" className="cell-analysts">
        <div className="analyst-badges">
          {models.map((m) => (
            <ScoreBadge key={m} model={m} score={analysis?.analyses[m]?.score} short testId={`score-${m}`} />
          ))}
          {analysis?.locked_models?.map((l) => <LockedBadge key={l.model} model={l.model} tier={l.required_tier} />)}
          {loading && !analysis ? <Skeleton width={140} height={22} /> : null}
        </div>
        {item?.error ? (
          <p className="row-error small" data-testid="row-error">
            <span aria-hidden="true">⚠</span> {item.error}
          </p>
        ) : null}
        {quote && quote.as_of && quote.as_of !== commonAsOf ? (
          <div className="small muted" style={{ marginTop: 4 }} data-testid="as-of">
            {quote.stale ? <Badge tone="neutral">stale</Badge> : null} as of {formatDateTime(quote.as_of)} · {quote.source}
          </div>
        ) : null}
      </div>
      <div role="cell" className="cell-actions">
        {onMove ? (
          <>
            <button
              type="button"
              className="btn btn-ghost btn-icon move-btn"
              onClick={() => onMove(symbol, -1)}
              disabled={!canMoveUp}
              aria-label={`Move ${symbol} up`}
              title="Move up"
              data-testid="move-up"
            >
              <span aria-hidden="true">▲</span>
            </button>
            <button
              type="button"
              className="btn btn-ghost btn-icon move-btn"
              onClick={() => onMove(symbol, 1)}
              disabled={!canMoveDown}
              aria-label={`Move ${symbol} down`}
              title="Move down"
              data-testid="move-down"
            >
              <span aria-hidden="true">▼</span>
            </button>
          </>
        ) : null}
        <button
          type="button"
          className="btn btn-ghost btn-icon btn-danger"
          onClick={() => onRemove(symbol)}
          disabled={removing}
          aria-label={`Remove ${symbol} from watchlist`}
          title={`Remove ${symbol}`}
          data-testid="remove-stock"
        >
          <span aria-hidden="true">✕</span>
        </button>
      </div>
    </div>
  );
});

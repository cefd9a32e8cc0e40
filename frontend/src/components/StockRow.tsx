import { memo } from 'react';
import { Link } from 'react-router-dom';
import type { DashboardItem } from '../api/types';
import { changeTone, formatDateTime, formatPercent, formatPrice, formatChange } from '../lib/format';
import { sortModels } from '../lib/models';
import { LockedBadge, ScoreBadge, SignalBadge } from './ScoreBadge';
import { Sparkline } from './Sparkline';
import { Badge, Skeleton } from './ui';

export interface StockRowProps {
  symbol: string;
  item: DashboardItem | undefined;
  /** Dashboard data still loading (quote/analysis pending). */
  loading: boolean;
  removing?: boolean;
  onRemove: (symbol: string) => void;
}

/** One watchlist card. Memoised: re-renders only when its own item changes. */
export const StockRow = memo(function StockRow({ symbol, item, loading, removing = false, onRemove }: StockRowProps) {
  const quote = item?.quote ?? null;
  const analysis = item?.analysis ?? null;
  const tone = changeTone(quote?.change);
  const models = analysis ? sortModels(Object.keys(analysis.analyses)) : [];
  const ready = !loading && !!item;
  return (
    <article
      className="card stock-row"
      data-testid={`stock-row-${symbol}`}
      data-loaded={ready ? 'true' : 'false'}
      aria-label={`${symbol}${quote?.name ? `, ${quote.name}` : ''}`}
    >
      <div style={{ minWidth: 0 }}>
        <Link to={`/stocks/${encodeURIComponent(symbol)}`} className="sym-link" data-testid="stock-link">
          {symbol}
        </Link>
        <div className="company">{quote?.name ?? (loading ? <Skeleton width="70%" /> : '')}</div>
      </div>
      <div className="cell-price">
        {quote && quote.price != null ? (
          <>
            <div className="price num" data-testid="price">
              {formatPrice(quote.price)}
            </div>
            <div className={`small num tone-${tone}`}>
              {formatChange(quote.change)} ({formatPercent(quote.change_percent)})
            </div>
          </>
        ) : loading ? (
          <>
            <Skeleton width={80} height={18} />
            <br />
            <Skeleton width={60} />
          </>
        ) : (
          <span className="muted small" data-testid="no-price" title={quote?.price_note ?? undefined}>
            No price data
          </span>
        )}
      </div>
      <div className="cell-spark">
        {item ? <Sparkline values={item.sparkline} /> : loading ? <Skeleton width={110} height={32} /> : null}
      </div>
      <div className="cell-consensus consensus">
        {analysis?.consensus ? (
          <>
            <ScoreBadge score={analysis.consensus.score} large testId="consensus-score" />
            <SignalBadge signal={analysis.consensus.signal} />
          </>
        ) : loading ? (
          <Skeleton width={48} height={24} />
        ) : (
          <span className="muted small">No consensus</span>
        )}
      </div>
      <div className="cell-analysts">
        <div className="analyst-badges" aria-label="Analyst scores">
          {models.map((m) => (
            <ScoreBadge key={m} model={m} score={analysis?.analyses[m]?.score} short testId={`score-${m}`} />
          ))}
          {analysis?.locked_models?.map((l) => <LockedBadge key={l.model} model={l.model} tier={l.required_tier} />)}
          {loading && !analysis ? <Skeleton width={140} height={22} /> : null}
        </div>
        {item?.error ? (
          <p className="row-error small" role="note" data-testid="row-error">
            <span aria-hidden="true">⚠</span> {item.error}
          </p>
        ) : null}
        {quote ? (
          <div className="small muted" style={{ marginTop: 4 }} data-testid="as-of">
            {quote.stale ? (
              <Badge tone="neutral" title="Data may be out of date">
                stale
              </Badge>
            ) : null}{' '}
            {quote.source === 'demo' ? <Badge tone="info">demo</Badge> : null} as of {formatDateTime(quote.as_of)} · {quote.source}
          </div>
        ) : null}
      </div>
      <div className="cell-actions">
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
    </article>
  );
});

import { Link } from 'react-router-dom';
import { ageInDays, SIGNAL_LABEL, type Summary } from '../lib/dashboardTable';
import { formatDateTime, formatNumber, formatPercent, scoreTone } from '../lib/format';
import { Badge, Skeleton } from './ui';

/** Days after which quotes count as old enough to say so out loud. */
const OLD_AFTER_DAYS = 3;

/** The watchlist at a glance, as a portfolio tracker shows it: signals, average score, movers, data age. */
export function PortfolioSummary({ summary, loading, stale }: { summary: Summary; loading: boolean; stale: boolean }) {
  const age = ageInDays(summary.asOf);
  const old = age !== null && age > OLD_AFTER_DAYS;
  return (
    <section className="card summary" aria-labelledby="summary-title" data-testid="portfolio-summary">
      <h2 id="summary-title" className="visually-hidden">
        Watchlist summary
      </h2>
      <dl className="summary-grid">
        <div>
          <dt>Signals</dt>
          <dd data-testid="summary-signals">
            {loading ? (
              <Skeleton width={140} />
            ) : (
              (['bullish', 'neutral', 'bearish', 'not_rated'] as const)
                .filter((k) => summary.bySignal[k] > 0 || k !== 'not_rated')
                .map((k) => (
                  <span key={k} className={`signal-count tone-${k === 'bullish' ? 'positive' : k === 'bearish' ? 'negative' : k === 'neutral' ? 'neutral' : 'muted'}`}>
                    <b className="num">{summary.bySignal[k]}</b> {SIGNAL_LABEL[k].toLowerCase()}
                  </span>
                ))
            )}
          </dd>
        </div>
        <div>
          <dt>Average consensus</dt>
          <dd data-testid="summary-average">
            {loading ? (
              <Skeleton width={40} />
            ) : summary.averageConsensus === null ? (
              <span className="muted">Not rated</span>
            ) : (
              <Badge tone={scoreTone(summary.averageConsensus)} className="score-badge">
                <span className="num">{formatNumber(summary.averageConsensus, 0)}</span>
                <span className="visually-hidden"> of 100</span>
              </Badge>
            )}
          </dd>
        </div>
        <div>
          <dt>Biggest movers (day)</dt>
          <dd data-testid="summary-movers">
            {loading ? (
              <Skeleton width={120} />
            ) : !summary.gainer && !summary.loser ? (
              <span className="muted">No moves</span>
            ) : (
              <>
                {summary.gainer ? (
                  <Link to={`/stocks/${summary.gainer.symbol}`} className="mover">
                    {summary.gainer.symbol} <span className="num tone-positive">{formatPercent(summary.gainer.changePercent)}</span>
                  </Link>
                ) : null}
                {summary.loser ? (
                  <Link to={`/stocks/${summary.loser.symbol}`} className="mover">
                    {summary.loser.symbol} <span className="num tone-negative">{formatPercent(summary.loser.changePercent)}</span>
                  </Link>
                ) : null}
              </>
            )}
          </dd>
        </div>
        <div>
          <dt>Prices as of</dt>
          <dd data-testid="summary-as-of">
            {loading && !summary.asOf ? (
              <Skeleton width={120} />
            ) : summary.asOf ? (
              <>
                {formatDateTime(summary.asOf)}
                {summary.source ? <span className="muted"> · {summary.source}</span> : null}
                {old || stale ? (
                  <Badge tone="neutral" className="age-badge" data-testid="data-age">
                    {stale ? 'offline copy' : `${age} days old`}
                  </Badge>
                ) : null}
              </>
            ) : (
              <span className="muted">No prices</span>
            )}
          </dd>
        </div>
      </dl>
      {old && summary.source === 'snapshot' ? (
        <p className="small muted summary-note" data-testid="snapshot-note">
          These prices come from the offline snapshot bundled with stockdash, not a live feed: scores reflect the market on
          that date.
        </p>
      ) : null}
    </section>
  );
}

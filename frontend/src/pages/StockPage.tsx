import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { ApiError, errorMessage } from '../api/client';
import { addToWatchlist, getAnalysis, getFundamentals, getHistory, getStock, getWatchlist, queryKeys, removeFromWatchlist } from '../api/endpoints';
import type { DcfOverrides, FundamentalsYear, HistoryRange, Stock } from '../api/types';
import { AlertsCard } from '../components/Alerts';
import { AnalystPanel, dcfDefaults, DcfOverridesForm, LockedAnalystPanel } from '../components/AnalystPanel';
import { IntrinsicValues } from '../components/IntrinsicValues';
import { ScoreBadge, SignalBadge } from '../components/ScoreBadge';
import { Alert, Badge, Button, Card, EmptyState, RetryAlert, Skeleton, TableWrap } from '../components/ui';
import { usePageTitle } from '../lib/pageTitle';
import { useToast } from '../toast';
import {
  changeTone,
  formatChange,
  formatCompact,
  formatDateTime,
  formatNumber,
  formatPercent,
  formatPrice,
  formatRatioPercent,
} from '../lib/format';
import { modelName, sortModels } from '../lib/models';

const PriceChart = lazy(() => import('../components/PriceChart'));
const RANGES: HistoryRange[] = ['1m', '3m', '6m', '1y', '5y', 'max'];

export default function StockPage() {
  const { symbol: raw = '' } = useParams();
  const symbol = raw.toUpperCase();
  const stock = useQuery({ queryKey: queryKeys.stock(symbol), queryFn: () => getStock(symbol), meta: { silent: true } });
  const notFound = stock.isError && stock.error instanceof ApiError && stock.error.status === 404;
  usePageTitle(notFound ? 'Unknown symbol' : stock.data?.name ? `${symbol} · ${stock.data.name}` : symbol);

  if (notFound) {
    // The API's message names its own path; people get a sentence about the universe instead.
    return (
      <EmptyState title={`No stock called ${symbol}`} data-testid="stock-not-found" action={<Link to="/">Back to the dashboard</Link>}>
        stockdash covers the companies in the S&amp;P 500, and {symbol} is not one of them. Search from the dashboard to find
        a stock by symbol or company name.
      </EmptyState>
    );
  }

  return (
    <div className="stack" data-testid="stock-page">
      <StockHeader symbol={symbol} stock={stock.data} failed={stock.isError} />
      {stock.isError ? (
        <RetryAlert title={`Could not load ${symbol}.`} message={errorMessage(stock.error)} onRetry={() => stock.refetch()} retrying={stock.isFetching} testId="stock-error" />
      ) : null}
      <ChartCard symbol={symbol} />
      <Card aria-labelledby="stats-title">
        <h2 id="stats-title">Key stats</h2>
        {stock.isError && !stock.data ? <p className="muted">Not available until {symbol} loads.</p> : <KeyStats stock={stock.data} />}
      </Card>
      <AnalysisSection symbol={symbol} price={stock.data?.price} />
      <AlertsCard symbol={symbol} />
      <FundamentalsCard symbol={symbol} />
    </div>
  );
}

/** Add to / remove from the watchlist, from the stock's own page. */
function WatchButton({ symbol }: { symbol: string }) {
  const qc = useQueryClient();
  const { push } = useToast();
  const watchlist = useQuery({ queryKey: queryKeys.watchlist, queryFn: getWatchlist, meta: { silent: true } });
  const onList = watchlist.data?.data.some((i) => i.symbol === symbol) ?? false;
  const toggle = useMutation({
    mutationFn: () => (onList ? removeFromWatchlist(symbol) : addToWatchlist(symbol).then(() => undefined)),
    meta: { silent: true },
    onSuccess: () => push(onList ? `Removed ${symbol} from your watchlist` : `Added ${symbol} to your watchlist`, 'success'),
    onError: (err) => push(errorMessage(err), 'error'),
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: queryKeys.watchlist });
      void qc.invalidateQueries({ queryKey: queryKeys.dashboard });
    },
  });
  if (!watchlist.data) return null;
  return (
    <Button size="sm" variant={onList ? 'default' : 'primary'} loading={toggle.isPending} onClick={() => toggle.mutate()} data-testid="watch-toggle" aria-pressed={onList}>
      {onList ? '✓ On your watchlist' : '+ Add to watchlist'}
    </Button>
  );
}

function StockHeader({ symbol, stock, failed }: { symbol: string; stock: Stock | undefined; failed: boolean }) {
  return (
    <div className="stock-head">
      <div>
        <p className="small muted" style={{ margin: 0 }}>
          <Link to="/">← Dashboard</Link>
        </p>
        <h1 style={{ margin: '0.2rem 0' }}>
          {symbol} <span className="muted" style={{ fontWeight: 400, fontSize: '1rem' }}>{stock?.name ?? ''}</span>
        </h1>
        {stock ? (
          <div className="row small muted" data-testid="stock-meta">
            {stock.exchange ? <span>{stock.exchange} ·</span> : null}
            {stock.sector ? <span>{stock.sector}</span> : null}
            {stock.industry ? <span>· {stock.industry}</span> : null}
          </div>
        ) : null}
        <div style={{ marginTop: '0.5rem' }}>
          <WatchButton symbol={symbol} />
        </div>
      </div>
      <div className="stock-price-box">
        {stock ? (
          <>
            {stock.price != null ? (
              <>
                <div className="big-price num" data-testid="stock-price">
                  {formatPrice(stock.price)}
                </div>
                <div className={`num tone-${changeTone(stock.change)}`}>
                  {formatChange(stock.change)} ({formatPercent(stock.change_percent)})
                </div>
              </>
            ) : (
              <>
                <div className="big-price muted" data-testid="stock-no-price">
                  No price data
                </div>
                {stock.price_note ? (
                  <div className="small muted" data-testid="price-note">
                    {stock.price_note}
                  </div>
                ) : null}
              </>
            )}
            <div className="row small muted stock-source" data-testid="stock-source">
              {stock.source === 'demo' ? (
                <Badge tone="info" data-testid="demo-badge" title="Demo data, not real market prices">
                  demo
                </Badge>
              ) : null}
              {stock.stale ? <Badge tone="neutral">stale</Badge> : null}
              <span>
                as of {formatDateTime(stock.as_of)} · source: {stock.source}
              </span>
            </div>
          </>
        ) : (
          failed ? null : <Skeleton width={140} height={48} />
        )}
      </div>
    </div>
  );
}

function ChartCard({ symbol }: { symbol: string }) {
  const [range, setRange] = useState<HistoryRange>('1y');
  const history = useQuery({
    queryKey: queryKeys.history(symbol, range),
    queryFn: () => getHistory(symbol, range),
    placeholderData: keepPreviousData,
    meta: { silent: true },
  });
  return (
    <Card aria-labelledby="chart-title">
      <div className="card-title">
        <h2 id="chart-title">Price</h2>
        <div className="range-switch" role="group" aria-label="Chart range">
          {RANGES.map((r) => (
            <button key={r} type="button" aria-pressed={r === range} onClick={() => setRange(r)} data-testid={`range-${r}`}>
              {r.toUpperCase()}
            </button>
          ))}
        </div>
      </div>
      {history.isError ? (
        <RetryAlert
          title="Could not load the price history."
          message={errorMessage(history.error)}
          onRetry={() => history.refetch()}
          retrying={history.isFetching}
          testId="history-error"
        />
      ) : history.data ? (
        <Suspense fallback={<Skeleton height={360} />}>
          <PriceChart bars={history.data.bars} symbol={symbol} />
          <p className="small muted" style={{ margin: '0.4rem 0 0' }}>
            {history.data.bars.length} bars · source: {history.data.source}
          </p>
        </Suspense>
      ) : (
        <Skeleton height={360} />
      )}
    </Card>
  );
}

function KeyStats({ stock }: { stock: Stock | undefined }) {
  if (!stock) return <Skeleton height={60} />;
  // Only what the data has: a row of dashes tells the reader nothing.
  const stats: [string, number | null | undefined, (n: number) => string][] = [
    ['Market cap', stock.market_cap, (n) => `$${formatCompact(n)}`],
    ['P/E (trailing 12 months)', stock.pe_ratio, (n) => formatNumber(n, 2)],
    ['EPS (trailing 12 months)', stock.eps, (n) => formatPrice(n)],
    ['Dividend yield', stock.dividend_yield, (n) => formatRatioPercent(n, 2)],
    ['Volume', stock.volume, (n) => formatCompact(n, 1)],
    ['52-week high', stock.week52_high, (n) => formatPrice(n)],
    ['52-week low', stock.week52_low, (n) => formatPrice(n)],
    ['Day change', stock.change_percent, (n) => formatPercent(n)],
  ];
  const present = stats.filter(([, v]) => typeof v === 'number' && Number.isFinite(v));
  if (!present.length) return <p className="muted">No key statistics for {stock.symbol} in the current data.</p>;
  return (
    <>
      <dl className="stats" data-testid="key-stats">
        {present.map(([k, v, fmt]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd className="num">{fmt(v as number)}</dd>
          </div>
        ))}
      </dl>
      {stock.eps != null ? (
        <p className="small muted" style={{ margin: '0.6rem 0 0' }} data-testid="eps-note">
          Trailing EPS adds up the last four reported quarters, so it differs from the fiscal-year EPS in the fundamentals
          below.
        </p>
      ) : null}
    </>
  );
}

function AnalysisSection({ symbol, price }: { symbol: string; price: number | null | undefined }) {
  const analysis = useQuery({ queryKey: queryKeys.analysis(symbol), queryFn: () => getAnalysis(symbol), meta: { silent: true } });
  // Overrides live in the address (?dcf_discount_rate=…), so a reload or a shared link keeps them.
  const [params, setParams] = useSearchParams();
  const overrides = overridesFromParams(params);
  const setOverrides = (o: DcfOverrides | null) => setParams(overridesToParams(params, o), { replace: true });
  const dcf = useQuery({
    queryKey: queryKeys.analysis(symbol, overrides ?? undefined),
    queryFn: () => getAnalysis(symbol, overrides ?? undefined),
    enabled: !!overrides,
  });

  if (analysis.isPending) {
    return (
      <div className="grid grid-2" aria-busy="true">
        <Skeleton height={180} />
        <Skeleton height={180} />
      </div>
    );
  }
  if (analysis.isError) {
    return (
      <RetryAlert
        title="Could not load the analyses."
        message={errorMessage(analysis.error)}
        onRetry={() => analysis.refetch()}
        retrying={analysis.isFetching}
        testId="analysis-error"
      />
    );
  }
  const a = analysis.data;
  const models = sortModels(Object.keys(a.analyses));
  // With DCF assumptions of your own, the consensus is the one computed with them.
  const consensus = (overrides && dcf.data?.consensus) || a.consensus;
  // The intrinsic values follow your DCF assumptions too.
  const shownAnalyses = overrides && dcf.data ? { ...a.analyses, ...dcf.data.analyses } : a.analyses;
  return (
    <section aria-labelledby="analysts-title" className="stack">
      <div className="row" style={{ justifyContent: 'space-between' }}>
        <h2 id="analysts-title" style={{ margin: 0 }}>
          AI analysts
        </h2>
        {consensus ? (
          <div className="row" data-testid="stock-consensus">
            <span className="muted small">Consensus{overrides && dcf.data ? ' (with your DCF assumptions)' : ''}</span>
            <ScoreBadge score={consensus.score} large testId="stock-consensus-score" />
            <SignalBadge signal={consensus.signal} />
            <span className="muted small" title={consensus.method || undefined}>
              agreement {formatNumber(consensus.agreement * 100, 0)}% · confidence {formatNumber(consensus.confidence * 100, 0)}%
            </span>
            {Object.keys(consensus.not_rated ?? {}).length ? (
              <span className="muted small" data-testid="consensus-not-rated">
                leaves out (not rated): {Object.keys(consensus.not_rated ?? {}).map(modelName).join(', ')}
              </span>
            ) : null}
          </div>
        ) : (
          <div className="row" data-testid="stock-consensus">
            <span className="muted small">Consensus</span>
            <SignalBadge signal="not_rated" />
          </div>
        )}
      </div>
      <IntrinsicValues analyses={shownAnalyses} price={price} />
      <details className="explain small" data-testid="consensus-explained">
        <summary>How to read these numbers</summary>
        <ul>
          <li>
            <b>Score</b> (0–100): each analyst adds up the points its factors earn below; 65 and above is bullish, 40 and
            below bearish.
          </li>
          <li>
            <b>Consensus</b>: the analysts&apos; scores averaged, each weighted by its confidence.
          </li>
          <li>
            <b>Confidence</b>: the share of an analyst&apos;s factors the data could score, times the data&apos;s quality
            (100% = nothing missing). Under 35% the signal stays neutral.
          </li>
          <li>
            <b>Agreement</b>: how close the analysts&apos; scores are (100% = identical, 0% = as far apart as possible).
          </li>
          <li>
            <b>Intrinsic values</b>: Warren Buffett&apos;s discounts ten years of owner earnings plus a terminal value; DCF
            discounts free cash flow to the firm and shows its base case and a probability-weighted value (bear 25%, base
            50%, bull 25%). Different models with different inputs are not expected to agree: compare each with the price,
            not with each other.
          </li>
        </ul>
      </details>
      <div className="grid analysts-grid">
        {models.map((m) => {
          const base = a.analyses[m];
          if (!base) return null;
          if (m !== 'dcf_math') return <AnalystPanel key={m} result={base} />;
          const shown = (overrides && dcf.data?.analyses[m]) || base;
          return (
            <AnalystPanel key={m} result={shown}>
              <DcfOverridesForm
                defaults={dcfDefaults(base)}
                initial={overrides}
                busy={dcf.isFetching}
                active={!!overrides}
                onApply={(o) => setOverrides(o)}
                onReset={() => setOverrides(null)}
              />
              {overrides && dcf.data ? (
                <p className="small" data-testid="dcf-override-note">
                  Showing your assumptions (was {base.score === null ? 'not rated' : Math.round(base.score)}).
                </p>
              ) : null}
              {dcf.isError ? <Alert kind="error">{dcf.error.message}</Alert> : null}
            </AnalystPanel>
          );
        })}
        {(a.locked_models ?? []).map((l) => (
          <LockedAnalystPanel key={l.model} model={l.model} requiredTier={l.required_tier} />
        ))}
      </div>
    </section>
  );
}

/** The fields of a fundamentals row that hold numbers. */
type NumericField = { [K in keyof FundamentalsYear]-?: FundamentalsYear[K] extends number | null | undefined ? K : never }[keyof FundamentalsYear];

const FUNDAMENTAL_ROWS: [NumericField, string, 'money' | 'per-share' | 'count'][] = [
  ['revenue', 'Revenue', 'money'],
  ['gross_profit', 'Gross profit', 'money'],
  ['operating_income', 'Operating income', 'money'],
  ['net_income', 'Net income', 'money'],
  ['eps_diluted', 'EPS (diluted)', 'per-share'],
  ['operating_cash_flow', 'Operating cash flow', 'money'],
  ['capital_expenditure', 'Capital expenditure', 'money'],
  ['free_cash_flow', 'Free cash flow', 'money'],
  ['total_debt', 'Total debt', 'money'],
  ['cash', 'Cash', 'money'],
  ['shareholders_equity', "Shareholders' equity", 'money'],
  ['total_assets', 'Total assets', 'money'],
  ['shares_outstanding', 'Shares outstanding', 'count'],
  ['dividends_per_share', 'Dividends / share', 'per-share'],
];

function FundamentalsCard({ symbol }: { symbol: string }) {
  const f = useQuery({ queryKey: queryKeys.fundamentals(symbol), queryFn: () => getFundamentals(symbol), meta: { silent: true } });
  return (
    <Card aria-labelledby="fund-title">
      <div className="card-title">
        <h2 id="fund-title">Fundamentals</h2>
        {f.data ? (
          <span className="small muted">
            {f.data.currency} · source: {f.data.source}
          </span>
        ) : null}
      </div>
      {f.isPending ? (
        <Skeleton height={200} />
      ) : f.isError ? (
        f.error instanceof ApiError && f.error.status === 404 ? (
          <p className="muted">No fundamentals reported for {symbol}.</p>
        ) : (
          <RetryAlert
            title="Could not load the fundamentals."
            message={errorMessage(f.error)}
            onRetry={() => f.refetch()}
            retrying={f.isFetching}
            testId="fundamentals-error"
          />
        )
      ) : f.data.data.length === 0 ? (
        <p className="muted">No fundamentals reported for {symbol}.</p>
      ) : (
        <TableWrap label="Fundamentals by fiscal year">
          <table className="table" data-testid="fundamentals-table">
            <thead>
              <tr>
                <th scope="col">Fiscal year</th>
                {f.data.data.map((y) => (
                  <th key={y.fiscal_year} scope="col" className="r">
                    {y.fiscal_year}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {FUNDAMENTAL_ROWS.map(([key, label, kind]) => (
                <tr key={key}>
                  <th scope="row" style={{ color: 'var(--text)' }}>{label}</th>
                  {f.data.data.map((y) => {
                    const v = y[key];
                    return (
                      <td key={y.fiscal_year} className="r num">
                        {kind === 'per-share' ? formatNumber(v, 2) : formatCompact(v, kind === 'count' ? 2 : 1)}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </Card>
  );
}

const OVERRIDE_PARAMS = ['discount_rate', 'terminal_growth', 'growth'] as const;

function overridesFromParams(params: URLSearchParams): DcfOverrides | null {
  const out: DcfOverrides = {};
  for (const k of OVERRIDE_PARAMS) {
    const raw = params.get(`dcf_${k}`);
    const n = raw === null ? NaN : Number(raw);
    if (Number.isFinite(n)) out[k] = n;
  }
  return Object.keys(out).length ? out : null;
}

function overridesToParams(params: URLSearchParams, o: DcfOverrides | null): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const k of OVERRIDE_PARAMS) {
    const v = o?.[k];
    if (typeof v === 'number') next.set(`dcf_${k}`, String(v));
    else next.delete(`dcf_${k}`);
  }
  return next;
}

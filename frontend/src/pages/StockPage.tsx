import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { lazy, Suspense, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { ApiError } from '../api/client';
import { getAnalysis, getFundamentals, getHistory, getStock, queryKeys } from '../api/endpoints';
import type { DcfOverrides, FundamentalsYear, HistoryRange, Stock } from '../api/types';
import { AnalystPanel, DcfOverridesForm, LockedAnalystPanel } from '../components/AnalystPanel';
import { ScoreBadge, SignalBadge } from '../components/ScoreBadge';
import { Alert, Badge, Card, EmptyState, Skeleton } from '../components/ui';
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
  const stock = useQuery({ queryKey: queryKeys.stock(symbol), queryFn: () => getStock(symbol) });

  if (stock.isError && stock.error instanceof ApiError && stock.error.status === 404) {
    return (
      <EmptyState title={`Unknown symbol ${symbol}`} data-testid="stock-not-found" action={<Link to="/">Back to dashboard</Link>}>
        {stock.error.message}
      </EmptyState>
    );
  }

  return (
    <div className="stack" data-testid="stock-page">
      <StockHeader symbol={symbol} stock={stock.data} />
      {stock.isError ? <Alert kind="error">{stock.error.message}</Alert> : null}
      <ChartCard symbol={symbol} />
      <Card aria-labelledby="stats-title">
        <h2 id="stats-title">Key stats</h2>
        <KeyStats stock={stock.data} />
      </Card>
      <AnalysisSection symbol={symbol} />
      <FundamentalsCard symbol={symbol} />
    </div>
  );
}

function StockHeader({ symbol, stock }: { symbol: string; stock: Stock | undefined }) {
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
      </div>
      <div style={{ textAlign: 'right' }}>
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
            <div className="row small muted" style={{ justifyContent: 'flex-end' }} data-testid="stock-source">
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
          <Skeleton width={140} height={48} />
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
        <Alert kind="error">Could not load history: {history.error.message}</Alert>
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
    ['P/E', stock.pe_ratio, (n) => formatNumber(n, 2)],
    ['EPS', stock.eps, (n) => formatPrice(n)],
    ['Dividend yield', stock.dividend_yield, (n) => formatRatioPercent(n, 2)],
    ['Volume', stock.volume, (n) => formatCompact(n, 1)],
    ['52-week high', stock.week52_high, (n) => formatPrice(n)],
    ['52-week low', stock.week52_low, (n) => formatPrice(n)],
    ['Day change', stock.change_percent, (n) => formatPercent(n)],
  ];
  const present = stats.filter(([, v]) => typeof v === 'number' && Number.isFinite(v));
  if (!present.length) return <p className="muted">No key statistics for {stock.symbol} in the current data.</p>;
  return (
    <dl className="stats" data-testid="key-stats">
      {present.map(([k, v, fmt]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd className="num">{fmt(v as number)}</dd>
        </div>
      ))}
    </dl>
  );
}

function AnalysisSection({ symbol }: { symbol: string }) {
  const analysis = useQuery({ queryKey: queryKeys.analysis(symbol), queryFn: () => getAnalysis(symbol) });
  const [overrides, setOverrides] = useState<DcfOverrides | null>(null);
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
  if (analysis.isError) return <Alert kind="error">Could not load analyses: {analysis.error.message}</Alert>;
  const a = analysis.data;
  const models = sortModels(Object.keys(a.analyses));
  return (
    <section aria-labelledby="analysts-title" className="stack">
      <div className="row" style={{ justifyContent: 'space-between' }}>
        <h2 id="analysts-title" style={{ margin: 0 }}>
          AI analysts
        </h2>
        {a.consensus ? (
          <div className="row" data-testid="stock-consensus">
            <span className="muted small">Consensus</span>
            <ScoreBadge score={a.consensus.score} large />
            <SignalBadge signal={a.consensus.signal} />
            <span className="muted small" title={a.consensus.method || undefined}>
              agreement {formatNumber(a.consensus.agreement * 100, 0)}% · confidence {formatNumber(a.consensus.confidence * 100, 0)}%
            </span>
            {Object.keys(a.consensus.not_rated ?? {}).length ? (
              <span className="muted small" data-testid="consensus-not-rated">
                leaves out (not rated): {Object.keys(a.consensus.not_rated ?? {}).map(modelName).join(', ')}
              </span>
            ) : null}
          </div>
        ) : null}
      </div>
      <div className="grid analysts-grid">
        {models.map((m) => {
          const base = a.analyses[m];
          if (!base) return null;
          if (m !== 'dcf_math') return <AnalystPanel key={m} result={base} />;
          const shown = (overrides && dcf.data?.analyses[m]) || base;
          return (
            <AnalystPanel key={m} result={shown}>
              <DcfOverridesForm
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
        <p className="muted">No fundamentals available ({f.error.message}).</p>
      ) : f.data.data.length === 0 ? (
        <p className="muted">No fundamentals reported for {symbol}.</p>
      ) : (
        <div className="table-wrap">
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
        </div>
      )}
    </Card>
  );
}

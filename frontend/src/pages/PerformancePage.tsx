import { useQuery } from '@tanstack/react-query';
import { LineSeries, createChart, type Time } from 'lightweight-charts';
import { useEffect, useRef } from 'react';
import { ApiError, errorMessage } from '../api/client';
import { getPerformance, queryKeys } from '../api/endpoints';
import type { ModelPerformance } from '../api/types';
import { baseChartOptions } from '../components/PriceChart';
import { Alert, Card, EmptyState, PageLoader, RetryAlert, TableWrap } from '../components/ui';
import { formatDateTime, formatNumber, formatRatioPercent } from '../lib/format';
import { modelName, sortModels } from '../lib/models';
import { usePageTitle } from '../lib/pageTitle';
import { useTheme } from '../theme';

const COLORS = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2'];

export default function PerformancePage() {
  usePageTitle('Performance');
  const perf = useQuery({
    queryKey: queryKeys.performance,
    queryFn: getPerformance,
    retry: false,
    meta: { silent: true },
  });

  if (perf.isPending) return <PageLoader />;
  if (perf.isError) {
    if (perf.error instanceof ApiError && perf.error.status === 404) {
      return (
        <EmptyState title="No backtest results yet" data-testid="performance-empty">
          Model performance appears here after a backtest has been run on the server. Run{' '}
          <code>stockdash backtest</code> to score each analyst's historical picks, then reload this page.
        </EmptyState>
      );
    }
    return (
      <RetryAlert title="Could not load model performance." message={errorMessage(perf.error)} onRetry={() => perf.refetch()} retrying={perf.isFetching} />
    );
  }
  const byModel = new Map(perf.data.models.map((m) => [m.model, m]));
  const models = sortModels(perf.data.models.map((m) => m.model)).map((m) => byModel.get(m) as ModelPerformance);
  if (models.length === 0) {
    return (
      <EmptyState title="No backtest results yet" data-testid="performance-empty">
        Run <code>stockdash backtest</code> on the server to produce model performance figures.
      </EmptyState>
    );
  }
  // A run shorter than the backend's minimum is not annualised: cumulative returns, no Sharpe/Sortino.
  const annualised = models.every((m) => m.annualised);
  const unit = annualised ? ' p.a.' : ' (cumulative)';
  return (
    <div className="stack" data-testid="performance-page">
      <div className="page-head">
        <h1>Model performance</h1>
        <span className="small muted">
          {perf.data.source} · generated {formatDateTime(perf.data.generated_at)}
        </span>
      </div>
      {perf.data.note ? <Alert kind="info">{perf.data.note}</Alert> : null}
      <details className="explain small card" data-testid="performance-explained">
        <summary>What these figures mean</summary>
        <ul>
          <li>
            <b>Backtest</b>: on the first trading day of each month every analyst scored the stocks using only data published
            by then; its top fifth (top quintile) was held for the month, after trading costs.
          </li>
          <li>
            <b>Rank IC</b> (information coefficient): the rank correlation between the scores and the returns that followed,
            over the next month, from −1 to 1, averaged over the months. Above 0 means higher scores went on to do better.
          </li>
          <li>
            <b>Hit rate</b>: the share of months in which the top quintile beat the average stock of the universe (50% is a
            coin flip).
          </li>
          <li>
            <b>Sharpe</b> and <b>Sortino</b>: return per unit of risk. Sharpe counts all volatility, Sortino only the
            downside; higher is better, and above 1 is good.
          </li>
          <li>
            <b>Max drawdown</b>: the largest fall from a peak, the worst loss an investor would have sat through.
          </li>
        </ul>
      </details>
      {annualised ? null : (
        <Alert kind="info">
          Too short to annualise: returns are cumulative over the period; Sharpe and Sortino are not computed.
        </Alert>
      )}
      <Card aria-labelledby="equity-title">
        <div className="card-title">
          <h2 id="equity-title">Equity curves</h2>
          <div className="legend">
            {models.map((m, i) => (
              <span key={m.model} style={{ ['--c' as string]: COLORS[i % COLORS.length] }}>
                {modelName(m.model)}
              </span>
            ))}
          </div>
        </div>
        <EquityChart models={models} />
      </Card>
      <div className="grid analysts-grid">
        <MetricBars title={`Excess return vs universe${unit}`} models={models} pick={(m) => m.excess_return} format={(v) => formatRatioPercent(v, 1, true)} />
        <MetricBars title="Rank IC" models={models} pick={(m) => m.rank_ic} format={(v) => formatNumber(v, 3)} />
        <MetricBars title="Hit rate" models={models} pick={(m) => m.hit_rate} format={(v) => formatRatioPercent(v, 1)} />
        <MetricBars title="Sharpe ratio" models={models} pick={(m) => m.sharpe} format={(v) => formatNumber(v, 2)} />
      </div>
      <Card aria-labelledby="metrics-title">
        <h2 id="metrics-title">All figures</h2>
        <TableWrap label="Figures per model">
          <table className="table" data-testid="performance-table">
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th className="r">Rank IC</th>
                <th className="r">Hit rate</th>
                <th className="r">Top quintile{unit}</th>
                <th className="r">Universe{unit}</th>
                <th className="r">Excess{unit}</th>
                <th className="r">Sharpe</th>
                <th className="r">Sortino</th>
                <th className="r">Max drawdown</th>
              </tr>
            </thead>
            <tbody>
              {models.map((m) => (
                <tr key={m.model}>
                  <th scope="row">{modelName(m.model)}</th>
                  <td className="r num">{formatNumber(m.rank_ic, 3)}</td>
                  <td className="r num">{formatRatioPercent(m.hit_rate)}</td>
                  <td className="r num">{formatRatioPercent(m.top_quintile_return, 1, true)}</td>
                  <td className="r num">{formatRatioPercent(m.universe_return, 1, true)}</td>
                  <td className="r num">{formatRatioPercent(m.excess_return, 1, true)}</td>
                  <td className="r num">{formatNumber(m.sharpe, 2)}</td>
                  <td className="r num">{formatNumber(m.sortino, 2)}</td>
                  <td className="r num">{formatRatioPercent(m.max_drawdown, 1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      </Card>
    </div>
  );
}

function EquityChart({ models }: { models: ModelPerformance[] }) {
  const ref = useRef<HTMLDivElement>(null);
  const { theme } = useTheme();
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const chart = createChart(el, baseChartOptions());
    models.forEach((m, i) => {
      const s = chart.addSeries(LineSeries, { color: COLORS[i % COLORS.length], lineWidth: 2, title: modelName(m.model) });
      const seen = new Set<string>();
      const pts = [...m.equity_curve]
        .filter((p) => Number.isFinite(p.value))
        .map((p) => ({ time: p.date.slice(0, 10), value: p.value }))
        .sort((a, b) => (a.time < b.time ? -1 : 1))
        .filter((p) => (seen.has(p.time) ? false : (seen.add(p.time), true)));
      s.setData(pts.map((p) => ({ time: p.time as Time, value: p.value })));
    });
    chart.timeScale().fitContent();
    return () => chart.remove();
  }, [models, theme]);
  return <div ref={ref} className="chart-box" data-testid="equity-chart" role="img" aria-label="Equity curves per model" />;
}

function MetricBars({
  title,
  models,
  pick,
  format,
}: {
  title: string;
  models: ModelPerformance[];
  pick: (m: ModelPerformance) => number | null;
  format: (v: number | null) => string;
}) {
  const vals = models.map(pick);
  const maxAbs = Math.max(1e-9, ...vals.map((v) => Math.abs(v ?? 0)));
  return (
    <Card aria-label={title}>
      <h3>{title}</h3>
      <div className="bars">
        {models.map((m, i) => {
          const v = vals[i] ?? null;
          const pct = v === null ? 0 : (Math.abs(v) / maxAbs) * 50;
          return (
            <div className="bar-row" key={m.model}>
              <span>{modelName(m.model)}</span>
              <div className="bar-track" aria-hidden="true">
                <div className="bar-zero" />
                <div
                  className="bar-fill"
                  style={{
                    left: v !== null && v < 0 ? `${50 - pct}%` : '50%',
                    width: `${pct}%`,
                    background: v !== null && v < 0 ? 'var(--negative)' : 'var(--positive)',
                  }}
                />
              </div>
              <span className="num" style={{ textAlign: 'right' }}>
                {format(v)}
              </span>
            </div>
          );
        })}
      </div>
    </Card>
  );
}

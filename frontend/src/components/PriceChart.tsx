import {
  CandlestickSeries,
  ColorType,
  createChart,
  HistogramSeries,
  LineSeries,
  type IChartApi,
  type Time,
} from 'lightweight-charts';
import { useEffect, useMemo, useRef } from 'react';
import type { Bar } from '../api/types';
import { toChartData } from '../lib/chart';
import { useTheme } from '../theme';

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

export function chartColors() {
  return {
    text: cssVar('--text-muted', '#5b6472'),
    grid: cssVar('--chart-grid', '#eef0f3'),
    border: cssVar('--border', '#dde1e7'),
    up: cssVar('--chart-up', '#16a34a'),
    down: cssVar('--chart-down', '#dc2626'),
    line: cssVar('--primary', '#2563eb'),
  };
}

export function baseChartOptions() {
  const c = chartColors();
  return {
    autoSize: true,
    layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: c.text, attributionLogo: false },
    grid: { vertLines: { color: c.grid }, horzLines: { color: c.grid } },
    rightPriceScale: { borderColor: c.border },
    timeScale: { borderColor: c.border },
  };
}

/** Candlesticks + volume when OHLC is complete, else a line of closes. */
export default function PriceChart({ bars, symbol }: { bars: Bar[]; symbol: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const { theme } = useTheme();

  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const c = chartColors();
    const data = toChartData(bars, c.up, c.down, c.line);
    if (data.kind === 'empty') return;
    const chart: IChartApi = createChart(el, baseChartOptions());
    if (data.kind === 'candles') {
      const candles = chart.addSeries(CandlestickSeries, {
        upColor: c.up,
        downColor: c.down,
        borderVisible: false,
        wickUpColor: c.up,
        wickDownColor: c.down,
      });
      candles.setData(data.candles.map((p) => ({ ...p, time: p.time as Time })));
      candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.25 } });
      if (data.volumes.length) {
        const vol = chart.addSeries(HistogramSeries, { priceFormat: { type: 'volume' }, priceScaleId: '' });
        vol.priceScale().applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
        vol.setData(data.volumes.map((p) => ({ ...p, time: p.time as Time })));
      }
    } else {
      const line = chart.addSeries(LineSeries, { color: c.line, lineWidth: 2 });
      line.setData(data.line.map((p) => ({ time: p.time as Time, value: p.value })));
    }
    chart.timeScale().fitContent();
    return () => chart.remove();
  }, [bars, theme]);

  const kind = useMemo(() => toChartData(bars).kind, [bars]);
  return (
    <div
      ref={ref}
      className="chart-box"
      data-testid="price-chart"
      data-kind={kind}
      role="img"
      aria-label={`${symbol} price chart (${kind === 'candles' ? 'candlesticks with volume' : kind === 'line' ? 'closing prices' : 'no data'})`}
    >
      {kind === 'empty' ? <p className="muted empty">No price history available.</p> : null}
    </div>
  );
}

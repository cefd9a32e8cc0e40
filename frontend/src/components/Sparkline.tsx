import { memo } from 'react';
import { sparklinePoints } from '../lib/chart';

/** The last month of closes as a small line; a muted placeholder when there are fewer than two. */
export const Sparkline = memo(function Sparkline({
  values,
  width = 110,
  height = 32,
}: {
  values: number[];
  width?: number;
  height?: number;
}) {
  const points = sparklinePoints(values, width, height);
  if (!points) {
    return (
      <span className="sparkline-empty small muted" style={{ width, height }} data-testid="sparkline-empty">
        no price data
      </span>
    );
  }
  const first = values[0] ?? 0;
  const last = values[values.length - 1] ?? 0;
  const color = last >= first ? 'var(--positive)' : 'var(--negative)';
  return (
    <svg
      className="sparkline"
      width={width}
      height={height}
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`Trend ${last >= first ? 'up' : 'down'} over ${values.length} closes`}
      data-testid="sparkline"
    >
      <polyline fill="none" stroke={color} strokeWidth="1.6" strokeLinejoin="round" strokeLinecap="round" points={points} />
    </svg>
  );
});

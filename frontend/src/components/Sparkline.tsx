import { memo } from 'react';
import { sparklinePoints } from '../lib/chart';

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
  if (!points) return <svg className="sparkline" width={width} height={height} aria-hidden="true" />;
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

import { memo } from 'react';
import { scoreTone, signalTone } from '../lib/format';
import { modelName, modelShortName } from '../lib/models';
import { Badge, LockIcon } from './ui';

/**
 * A 0–100 score pill. The spoken label is real (visually hidden) text, not aria-label:
 * a plain span may not carry one, and screen readers would skip it.
 */
export const ScoreBadge = memo(function ScoreBadge({
  score,
  model,
  large = false,
  short = false,
  testId,
}: {
  score: number | null | undefined;
  model?: string;
  large?: boolean;
  short?: boolean;
  testId?: string;
}) {
  const tone = scoreTone(score);
  const rated = typeof score === 'number' && Number.isFinite(score);
  const value = rated ? String(Math.round(score)) : large ? 'Not rated' : 'NR';
  const spoken = rated ? `score ${value} of 100` : 'not rated';
  const label = model ? `${modelName(model)} ${spoken}` : `Consensus ${spoken}`;
  return (
    <Badge tone={tone} className={`score-badge ${large ? 'score-lg' : ''}`} title={label} data-testid={testId} data-tone={tone}>
      {model && short ? <span aria-hidden="true">{modelShortName(model)}</span> : null}
      <span className="num" aria-hidden="true">
        {value}
      </span>
      <span className="visually-hidden">{label}</span>
    </Badge>
  );
});

const SIGNAL_TEXT: Record<string, string> = { not_rated: 'not rated' };

export function SignalBadge({ signal }: { signal: string | null | undefined }) {
  return (
    <Badge tone={signalTone(signal)} data-testid="signal">
      {signal ? (SIGNAL_TEXT[signal] ?? signal) : 'not rated'}
    </Badge>
  );
}

export function LockedBadge({ model, tier }: { model: string; tier: string }) {
  const label = `${modelName(model)} locked, needs ${tier}`;
  return (
    <Badge tone="outline" title={`${modelName(model)}: needs ${tier}`}>
      <LockIcon />
      <span aria-hidden="true">{modelShortName(model)}</span>
      <span className="visually-hidden">{label}</span>
    </Badge>
  );
}

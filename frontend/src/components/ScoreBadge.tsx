import { memo } from 'react';
import { scoreTone, signalTone } from '../lib/format';
import { modelName, modelShortName } from '../lib/models';
import { Badge, LockIcon } from './ui';

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
  // null is an answer: the analyst declined to score (missing or implausible inputs).
  const value = typeof score === 'number' && Number.isFinite(score) ? Math.round(score) : score === null ? 'Not rated' : '—';
  const label = model ? `${modelName(model)} score ${value}` : `Score ${value}`;
  return (
    <Badge
      tone={tone}
      className={`score-badge ${large ? 'score-lg' : ''}`}
      aria-label={label}
      title={label}
      data-testid={testId}
      data-tone={tone}
    >
      {model && short ? <span aria-hidden="true">{modelShortName(model)}</span> : null}
      <span className="num" aria-hidden="true">
        {value}
      </span>
    </Badge>
  );
});

export function SignalBadge({ signal }: { signal: string | null | undefined }) {
  return (
    <Badge tone={signalTone(signal)} data-testid="signal">
      {signal === 'not_rated' ? 'Not rated' : (signal ?? 'n/a')}
    </Badge>
  );
}

export function LockedBadge({ model, tier }: { model: string; tier: string }) {
  return (
    <Badge tone="outline" title={`${modelName(model)}: needs ${tier}`} aria-label={`${modelName(model)} locked, needs ${tier}`}>
      <LockIcon />
      <span aria-hidden="true">{modelShortName(model)}</span>
    </Badge>
  );
}

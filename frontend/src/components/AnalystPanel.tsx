import { memo, useState, type FormEvent, type ReactNode } from 'react';
import { Link } from 'react-router-dom';
import type { AnalystResult, DcfOverrides, Factor } from '../api/types';
import { factorUnit, formatFactorValue, isExcluded, isInformational } from '../lib/factors';
import { formatDate, formatNumber } from '../lib/format';
import { modelName, tierName } from '../lib/models';
import { ScoreBadge, SignalBadge } from './ScoreBadge';
import { Button, Card, LockIcon, TableWrap } from './ui';

export const AnalystPanel = memo(function AnalystPanel({ result, children }: { result: AnalystResult; children?: ReactNode }) {
  // Scored factors, and those left out for missing data, make the table; the model's
  // other inputs and workings carry no points and are listed apart.
  const scored = result.factors.filter((f) => !isInformational(f) || isExcluded(f));
  const context = result.factors.filter((f) => isInformational(f) && !isExcluded(f));
  return (
    <Card className="analyst-panel" data-testid={`analyst-panel-${result.model}`} aria-labelledby={`analyst-${result.model}`}>
      <div className="card-title">
        <h3 id={`analyst-${result.model}`}>{modelName(result.model)}</h3>
        <div className="row">
          <SignalBadge signal={result.signal} />
          <ScoreBadge score={result.score} large testId={`analyst-score-${result.model}`} />
        </div>
      </div>
      <p className="summary">{result.summary}</p>
      <p className="small muted" style={{ marginTop: 0 }}>
        Confidence {formatNumber(result.confidence * 100, 0)}% · inputs as of {formatDate(result.inputs_as_of)}
        {result.methodology_version ? ` · method ${result.methodology_version}` : ''}
      </p>
      {children}
      {scored.length ? (
        <TableWrap label={`${modelName(result.model)} factors`}>
          <table className="table factor-table" data-testid="factor-table">
            <caption className="visually-hidden">{modelName(result.model)} factor breakdown</caption>
            <thead>
              <tr>
                <th scope="col">Factor</th>
                <th scope="col" className="r">Value</th>
                <th scope="col">Benchmark</th>
                <th scope="col" className="r">Points</th>
              </tr>
            </thead>
            <tbody>
              {scored.map((f) => (
                <ScoredFactorRow key={f.name} factor={f} />
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : null}
      {context.length ? (
        <details className="factor-context" data-testid="factor-info">
          <summary>
            Inputs and workings <span className="muted small">({context.length}, not scored)</span>
          </summary>
          <dl className="context-list">
            {context.map((f) => (
              <div key={f.name} className="context-item" data-testid="factor-info-row">
                <dt>
                  {f.name}
                  {f.explanation ? <span className="factor-why">{f.explanation}</span> : null}
                </dt>
                <dd className="num">{formatFactorValue(f.value, factorUnit(f.name))}</dd>
              </div>
            ))}
          </dl>
        </details>
      ) : null}
      {result.reasoning ? (
        <details>
          <summary>Reasoning</summary>
          <p className="reasoning">{result.reasoning}</p>
        </details>
      ) : null}
    </Card>
  );
});

/** One row of the factor table: a scored factor with its points, or one left out for missing data. */
function ScoredFactorRow({ factor: f }: { factor: Factor }) {
  const excluded = isExcluded(f);
  const share = excluded ? 0 : Math.max(0, Math.min(100, (f.points / f.max_points) * 100));
  return (
    <tr data-testid={excluded ? 'factor-excluded-row' : 'factor-row'} className={excluded ? 'factor-excluded' : ''}>
      <th scope="row" className="factor-name">
        {f.name}
        {f.explanation ? <span className="factor-why">{f.explanation}</span> : null}
      </th>
      <td className="r num factor-value">{excluded ? '—' : formatFactorValue(f.value, factorUnit(f.name))}</td>
      <td className="factor-benchmark">{f.benchmark ?? ''}</td>
      <td className="r">
        {excluded ? (
          <span className="badge badge-outline">not scored</span>
        ) : (
          <>
            <span className="num">
              {formatNumber(f.points, 1)}/{formatNumber(f.max_points, 1)}
            </span>
            <div className="points-bar" aria-hidden="true">
              <span style={{ width: `${share}%` }} />
            </div>
          </>
        )}
      </td>
    </tr>
  );
}

export function LockedAnalystPanel({ model, requiredTier }: { model: string; requiredTier: string }) {
  return (
    <Card className="analyst-panel locked" data-testid={`analyst-locked-${model}`} aria-label={`${modelName(model)} (locked)`}>
      <div className="card-title">
        <h3>{modelName(model)}</h3>
        <span className="badge badge-outline">
          <LockIcon /> Locked
        </span>
      </div>
      <p className="muted" style={{ margin: 0 }}>
        Available on the <strong>{tierName(requiredTier)}</strong> plan.{' '}
        <Link to="/plans">Upgrade to {tierName(requiredTier)}</Link>
      </p>
    </Card>
  );
}

/** Converts percent inputs into the fractions the API takes; blank fields are left out. */
export function parseOverrides(values: { discount_rate: string; terminal_growth: string; growth: string }): DcfOverrides | null {
  const out: DcfOverrides = {};
  for (const key of ['discount_rate', 'terminal_growth', 'growth'] as const) {
    const raw = values[key].trim();
    if (!raw) continue;
    const n = Number(raw);
    if (!Number.isFinite(n)) return null;
    out[key] = Math.round(n * 1000) / 100000;
  }
  return out;
}

/** The assumptions the DCF model used, read from its own factors (fractions), for the form's defaults. */
export function dcfDefaults(result: AnalystResult): Partial<Record<keyof DcfOverrides, number>> {
  const pick = (name: string) => {
    const v = result.factors.find((f) => f.name === name)?.value;
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  return { discount_rate: pick('Discount rate'), terminal_growth: pick('Terminal growth'), growth: pick('Stage-1 growth') };
}

const asPercentText = (v: number | null | undefined) => (typeof v === 'number' ? String(Math.round(v * 10000) / 100) : '');

export function DcfOverridesForm({
  onApply,
  onReset,
  busy,
  active,
  defaults = {},
  initial,
}: {
  onApply: (o: DcfOverrides) => void;
  onReset: () => void;
  busy: boolean;
  active: boolean;
  /** The model's own assumptions (fractions): shown, so an override starts from what was used. */
  defaults?: Partial<Record<keyof DcfOverrides, number>>;
  /** Overrides already applied (e.g. from the address after a reload). */
  initial?: DcfOverrides | null;
}) {
  const start = () => ({
    discount_rate: asPercentText(initial?.discount_rate ?? defaults.discount_rate),
    terminal_growth: asPercentText(initial?.terminal_growth ?? defaults.terminal_growth),
    growth: asPercentText(initial?.growth ?? defaults.growth),
  });
  const [values, setValues] = useState(start);
  const [error, setError] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const o = parseOverrides(values);
    if (!o) {
      setError('Enter numbers (percent), e.g. 9 for 9%.');
      return;
    }
    if (o.discount_rate != null && o.terminal_growth != null && o.terminal_growth >= o.discount_rate) {
      setError('Terminal growth must be below the discount rate.');
      return;
    }
    setError(null);
    onApply(o);
  };
  const field = (key: keyof typeof values, label: string, hint: string) => (
    <div className="field">
      <label htmlFor={`dcf-${key}`}>{label}</label>
      <input
        id={`dcf-${key}`}
        className="input"
        inputMode="decimal"
        placeholder={hint}
        value={values[key]}
        onChange={(e) => setValues((v) => ({ ...v, [key]: e.target.value }))}
        aria-describedby={`dcf-${key}-model`}
        data-testid={`dcf-${key}`}
      />
      <span id={`dcf-${key}-model`} className="field-hint">
        {defaults[key] !== undefined ? `model: ${asPercentText(defaults[key])}%` : 'model default'}
      </span>
    </div>
  );
  return (
    <form className="dcf-form" onSubmit={submit} aria-label="Try DCF assumptions" data-testid="dcf-form">
      {field('discount_rate', 'Discount rate %', 'e.g. 9')}
      {field('terminal_growth', 'Terminal growth %', 'e.g. 2.5')}
      {field('growth', 'Growth %', 'e.g. 6')}
      <div className="row">
        <Button type="submit" variant="primary" size="sm" loading={busy} data-testid="dcf-apply">
          Recalculate
        </Button>
        {active ? (
          <Button
            size="sm"
            onClick={() => {
              setValues({
                discount_rate: asPercentText(defaults.discount_rate),
                terminal_growth: asPercentText(defaults.terminal_growth),
                growth: asPercentText(defaults.growth),
              });
              onReset();
            }}
          >
            Reset
          </Button>
        ) : null}
      </div>
      {error ? (
        <p className="tone-negative small" role="alert" style={{ gridColumn: '1 / -1', margin: 0 }}>
          {error}
        </p>
      ) : null}
    </form>
  );
}

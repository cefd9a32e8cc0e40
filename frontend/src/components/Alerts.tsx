import { useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { errorMessage } from '../api/client';
import { createAlert, deleteAlert, getEmailMode, getWatchlist, listAlerts, queryKeys, setEmailMode } from '../api/endpoints';
import type { Alert, AlertCreate, AlertKind, EmailMode } from '../api/types';
import { useAuth } from '../auth';
import { modelName, sortModels } from '../lib/models';
import { useToast } from '../toast';
import { Badge, Button, Card } from './ui';

const KINDS: { kind: AlertKind; label: string; unit: string }[] = [
  { kind: 'price_above', label: 'Price rises to', unit: 'price' },
  { kind: 'price_below', label: 'Price falls to', unit: 'price' },
  { kind: 'daily_move', label: 'Daily move beyond ±', unit: '%' },
  { kind: 'score_above', label: 'Score rises to', unit: 'score 0–100' },
  { kind: 'score_below', label: 'Score falls to', unit: 'score 0–100' },
  { kind: 'signal_change', label: 'Consensus signal changes', unit: '' },
];

/** How an alert reads in a list. */
export function describeAlert(a: Alert): string {
  const t = a.threshold ?? 0;
  const who = a.model === 'consensus' ? 'consensus' : a.model ? modelName(a.model) : '';
  switch (a.kind) {
    case 'price_above':
      return `Price at or above ${t}`;
    case 'price_below':
      return `Price at or below ${t}`;
    case 'daily_move':
      return `Daily move beyond ±${t}%`;
    case 'score_above':
      return `${who} score at or above ${t}`;
    case 'score_below':
      return `${who} score at or below ${t}`;
    default:
      return 'Consensus signal changes';
  }
}

function AlertState({ a }: { a: Alert }) {
  if (a.paused) return <Badge title="The symbol is not on your watchlist: not evaluated">paused</Badge>;
  if (!a.enabled) return <Badge>off</Badge>;
  if (!a.armed) return <Badge tone="info" title="Fired; re-arms when the condition is false again">fired</Badge>;
  return <Badge tone="positive">armed</Badge>;
}

function useDelete() {
  const qc = useQueryClient();
  const { push } = useToast();
  return useMutation({
    mutationFn: deleteAlert,
    meta: { silent: true },
    onError: (err) => push(errorMessage(err), 'error'),
    onSettled: () => void qc.invalidateQueries({ queryKey: ['alerts'] }),
  });
}

/** The stock page's alerts: the symbol's alerts and a form for a new one. */
export function AlertsCard({ symbol }: { symbol: string }) {
  const qc = useQueryClient();
  const { user } = useAuth();
  const { push } = useToast();
  const alerts = useQuery({ queryKey: queryKeys.alerts(symbol), queryFn: () => listAlerts(symbol), meta: { silent: true } });
  const watchlist = useQuery({ queryKey: queryKeys.watchlist, queryFn: getWatchlist, meta: { silent: true } });
  const watched = watchlist.data?.data.some((i) => i.symbol === symbol) ?? false;
  const [kind, setKind] = useState<AlertKind>('price_above');
  const [threshold, setThreshold] = useState('');
  const [model, setModel] = useState('consensus');
  const [error, setError] = useState<string | null>(null);
  const remove = useDelete();
  const unit = KINDS.find((k) => k.kind === kind)?.unit ?? '';
  const scoreKind = kind === 'score_above' || kind === 'score_below';
  const create = useMutation({
    mutationFn: (body: AlertCreate) => createAlert(body),
    meta: { silent: true },
    onSuccess: () => {
      setError(null);
      setThreshold('');
      push(`Alert set on ${symbol}`, 'success');
    },
    onError: (err) => setError(errorMessage(err)),
    onSettled: () => void qc.invalidateQueries({ queryKey: ['alerts'] }),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body: AlertCreate = { symbol, kind };
    if (kind !== 'signal_change') body.threshold = Number(threshold);
    if (scoreKind) body.model = model as AlertCreate['model'];
    create.mutate(body);
  };
  const models = ['consensus', ...sortModels(user?.allowed_models ?? [])];
  return (
    <Card aria-labelledby="alerts-title" data-testid="alerts-card">
      <h2 id="alerts-title">Alerts</h2>
      {alerts.data && alerts.data.data.length ? (
        <ul className="alert-list">
          {alerts.data.data.map((a) => (
            <li key={a.id} className="row" data-testid="alert-item">
              <span>{describeAlert(a)}</span> <AlertState a={a} />
              <Button size="sm" variant="ghost" onClick={() => remove.mutate(a.id)} aria-label={`Delete alert: ${describeAlert(a)}`}>
                Delete
              </Button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="small muted">No alerts on {symbol} yet.</p>
      )}
      {watched ? (
        <form className="row alert-form" onSubmit={submit} data-testid="alert-form">
          <label className="field-inline">
            <span className="small">Notify me when</span>
            <select value={kind} onChange={(e) => setKind(e.target.value as AlertKind)} data-testid="alert-kind">
              {KINDS.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {k.label}
                </option>
              ))}
            </select>
          </label>
          {scoreKind ? (
            <label className="field-inline">
              <span className="small">Analyst</span>
              <select value={model} onChange={(e) => setModel(e.target.value)} data-testid="alert-model">
                {models.map((m) => (
                  <option key={m} value={m}>
                    {m === 'consensus' ? 'Consensus' : modelName(m)}
                  </option>
                ))}
              </select>
            </label>
          ) : null}
          {kind !== 'signal_change' ? (
            <label className="field-inline">
              <span className="small">Threshold ({unit})</span>
              <input type="number" step="any" required value={threshold} onChange={(e) => setThreshold(e.target.value)} data-testid="alert-threshold" />
            </label>
          ) : null}
          <Button type="submit" variant="primary" size="sm" loading={create.isPending} data-testid="alert-create">
            Add alert
          </Button>
        </form>
      ) : (
        <p className="small muted">Add {symbol} to your watchlist to set alerts on it.</p>
      )}
      {error ? (
        <p className="small tone-negative" role="alert" data-testid="alert-error">
          {error}
        </p>
      ) : null}
    </Card>
  );
}

/** The account page's list of every alert, and how notifications are emailed. */
export function AlertsOverview() {
  const qc = useQueryClient();
  const { push } = useToast();
  const alerts = useQuery({ queryKey: queryKeys.alerts(), queryFn: () => listAlerts(), meta: { silent: true } });
  const mode = useQuery({ queryKey: queryKeys.emailMode, queryFn: getEmailMode, meta: { silent: true } });
  const remove = useDelete();
  const save = useMutation({
    mutationFn: setEmailMode,
    meta: { silent: true },
    onSuccess: () => push('Email preference saved', 'success'),
    onError: (err) => push(errorMessage(err), 'error'),
    onSettled: () => void qc.invalidateQueries({ queryKey: queryKeys.emailMode }),
  });
  const modes: { value: EmailMode; label: string }[] = [
    { value: 'off', label: 'Off' },
    { value: 'immediate', label: 'One email per alert' },
    { value: 'digest', label: 'Daily digest' },
  ];
  return (
    <Card aria-labelledby="my-alerts-title" data-testid="alerts-overview">
      <h2 id="my-alerts-title">Alerts</h2>
      <p className="small muted">
        {alerts.data ? `${alerts.data.count} of ${alerts.data.max_alerts} alerts on your plan. ` : ''}
        An alert fires once when its condition is met and re-arms when it is no longer met. Alerts on stocks you no longer
        watch are paused.
      </p>
      {alerts.data && alerts.data.data.length ? (
        <ul className="alert-list">
          {alerts.data.data.map((a) => (
            <li key={a.id} className="row" data-testid="alert-item">
              <Link to={`/stocks/${encodeURIComponent(a.symbol)}`}>{a.symbol}</Link>
              <span>{describeAlert(a)}</span> <AlertState a={a} />
              <Button size="sm" variant="ghost" onClick={() => remove.mutate(a.id)} aria-label={`Delete ${a.symbol} alert: ${describeAlert(a)}`}>
                Delete
              </Button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="small muted">No alerts yet: add them on a stock's page.</p>
      )}
      <fieldset className="row" style={{ border: 0, padding: 0 }}>
        <legend className="small">Email me alert notifications</legend>
        {modes.map((m) => (
          <label key={m.value} className="row" style={{ gap: 4 }}>
            <input type="radio" name="email-mode" value={m.value} checked={mode.data === m.value} onChange={() => save.mutate(m.value)} data-testid={`email-${m.value}`} />{' '}
            {m.label}
          </label>
        ))}
      </fieldset>
    </Card>
  );
}

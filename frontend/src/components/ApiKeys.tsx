import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { errorMessage } from '../api/client';
import { createApiKey, deleteApiKey, listApiKeys, queryKeys } from '../api/endpoints';
import type { ApiKeyCreated } from '../api/types';
import { formatDateTime } from '../lib/format';
import { useToast } from '../toast';
import { Alert, Button, Card, RetryAlert, Skeleton, TableWrap } from './ui';

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** The new key's secret, shown once: the list only ever has the prefix. */
export function NewKeySecret({ created, onDone }: { created: ApiKeyCreated; onDone: () => void }) {
  const { push } = useToast();
  return (
    <Alert kind="warn" data-testid="api-key-secret">
      <div className="stack" style={{ gap: '0.5rem' }}>
        <strong>Copy your new key “{created.name}” now: it will not be shown again.</strong>
        <code className="secret" data-testid="api-key-secret-value">
          {created.key}
        </code>
        <span className="small">Send it as the <code>X-API-Key</code> header. Store it like a password.</span>
        <div className="row">
          <Button
            size="sm"
            variant="primary"
            data-testid="api-key-copy"
            onClick={async () => {
              if (await copyText(created.key)) push('Key copied', 'success');
              else push('Could not copy: select the key and copy it by hand', 'error');
            }}
          >
            Copy
          </Button>
          <Button size="sm" onClick={onDone} data-testid="api-key-done">
            I have saved it
          </Button>
        </div>
      </div>
    </Alert>
  );
}

export function ApiKeysSection() {
  const qc = useQueryClient();
  const { push } = useToast();
  const [name, setName] = useState('');
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const keys = useQuery({ queryKey: queryKeys.apiKeys, queryFn: listApiKeys, meta: { silent: true } });
  const create = useMutation({
    mutationFn: (name: string) => createApiKey(name),
    meta: { silent: true },
    onSuccess: (k) => {
      setCreated(k);
      setName('');
      void qc.invalidateQueries({ queryKey: queryKeys.apiKeys });
    },
    onError: (err) => push(errorMessage(err), 'error'),
  });
  const revoke = useMutation({
    mutationFn: (id: number) => deleteApiKey(id),
    meta: { silent: true },
    onSuccess: (_v, id) => {
      push('Key revoked', 'success');
      if (created?.id === id) setCreated(null);
      void qc.invalidateQueries({ queryKey: queryKeys.apiKeys });
    },
    onError: (err) => push(errorMessage(err), 'error'),
  });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const n = name.trim();
    if (n) create.mutate(n);
  };

  return (
    <Card aria-labelledby="keys-title" data-testid="api-keys">
      <h2 id="keys-title">API keys</h2>
      <p className="muted small" style={{ marginTop: 0 }}>
        Read-only keys let scripts and spreadsheets fetch market data, analyses and your watchlist (GET requests) without your password.
      </p>
      <form onSubmit={onSubmit} className="row" style={{ marginBottom: '0.75rem' }} data-testid="api-key-form">
        <label htmlFor="api-key-name" className="visually-hidden">
          Key name
        </label>
        <input
          id="api-key-name"
          className="input"
          style={{ maxWidth: 260 }}
          placeholder="Key name, e.g. spreadsheet"
          maxLength={64}
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <Button type="submit" variant="primary" loading={create.isPending} disabled={!name.trim()} data-testid="api-key-create">
          Create key
        </Button>
      </form>
      {created ? <NewKeySecret created={created} onDone={() => setCreated(null)} /> : null}
      {keys.isPending ? (
        <Skeleton height={60} />
      ) : keys.isError ? (
        <RetryAlert title="Could not load your keys." message={errorMessage(keys.error)} onRetry={() => keys.refetch()} retrying={keys.isFetching} />
      ) : keys.data.data.length === 0 ? (
        <p className="muted small" data-testid="api-keys-empty">
          No keys yet.
        </p>
      ) : (
        <TableWrap label="Your API keys">
          <table className="table table-stack" data-testid="api-keys-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Key</th>
                <th>Created</th>
                <th>Last used</th>
                <th className="r">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.data.map((k) => (
                <tr key={k.id} data-testid={`api-key-row-${k.id}`}>
                  <td data-label="Name">{k.name}</td>
                  <td data-label="Key" className="num">
                    {k.prefix}…
                  </td>
                  <td data-label="Created">{formatDateTime(k.created_at)}</td>
                  <td data-label="Last used">{k.last_used_at ? formatDateTime(k.last_used_at) : 'never'}</td>
                  <td className="r">
                    <Button
                      size="sm"
                      variant="danger"
                      loading={revoke.isPending && revoke.variables === k.id}
                      onClick={() => {
                        if (window.confirm(`Revoke the key “${k.name}”? Anything using it stops working.`)) revoke.mutate(k.id);
                      }}
                      data-testid={`api-key-revoke-${k.id}`}
                    >
                      Revoke
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
    </Card>
  );
}

import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ApiError, errorMessage } from '../api/client';
import { changePassword } from '../api/endpoints';
import { MIN_PASSWORD, newPasswordError } from '../lib/password';
import { useToast } from '../toast';
import { PasswordMeter } from './PasswordMeter';
import { Alert, Button, Card } from './ui';

export function ChangePasswordForm() {
  const { push } = useToast();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);
  const change = useMutation({
    mutationFn: () => changePassword(current, next),
    meta: { silent: true },
    onSuccess: () => {
      setCurrent('');
      setNext('');
      setConfirm('');
      setError(null);
      push('Password changed', 'success');
    },
    onError: (err) =>
      setError(err instanceof ApiError && err.code === 'wrong_password' ? 'Your current password is not correct.' : errorMessage(err)),
  });

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const invalid = !current ? 'Enter your current password.' : newPasswordError(next, confirm);
    if (invalid) {
      setError(invalid);
      return;
    }
    setError(null);
    change.mutate();
  };

  return (
    <Card aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      <form onSubmit={onSubmit} className="stack" style={{ gap: '0.75rem', maxWidth: 420 }} data-testid="password-form" noValidate>
        <div className="field">
          <label htmlFor="pw-current">Current password</label>
          <input id="pw-current" className="input" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="pw-new">New password</label>
          <input id="pw-new" className="input" type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} aria-describedby="pw-new-hint" />
          <span id="pw-new-hint" className="field-hint">At least {MIN_PASSWORD} characters, and not easy to guess.</span>
          <PasswordMeter password={next} />
        </div>
        <div className="field">
          <label htmlFor="pw-confirm">Confirm new password</label>
          <input id="pw-confirm" className="input" type="password" autoComplete="new-password" value={confirm} onChange={(e) => setConfirm(e.target.value)} />
        </div>
        {error ? <Alert kind="error" data-testid="password-error">{error}</Alert> : null}
        <div>
          <Button type="submit" variant="primary" loading={change.isPending} data-testid="password-submit">
            Change password
          </Button>
        </div>
      </form>
    </Card>
  );
}

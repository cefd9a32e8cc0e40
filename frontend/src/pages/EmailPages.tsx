// Pages reached from emailed links (/verify-email, /reset-password) and the
// forgot-password form. Lazy-loaded: they are rarely the first page of a visit
// that has a warm cache, and they work signed in or out.
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { ApiError, errorMessage } from '../api/client';
import { confirmPasswordReset, queryKeys, requestPasswordReset, verifyEmail } from '../api/endpoints';
import { useAuth } from '../auth';
import { PasswordMeter } from '../components/PasswordMeter';
import { Alert, Button, Card } from '../components/ui';
import { MIN_PASSWORD, newPasswordError } from '../lib/password';
import { usePageTitle } from '../lib/pageTitle';

export function VerifyEmailPage() {
  usePageTitle('Verify email');
  const [params] = useSearchParams();
  const token = params.get('token')?.trim() ?? '';
  const { token: session } = useAuth();
  const qc = useQueryClient();
  // A query (not an effect) so StrictMode's double mount and re-renders send the single-use token once.
  const verify = useQuery({
    queryKey: ['verify-email', token],
    queryFn: () => verifyEmail(token),
    enabled: !!token,
    retry: false,
    staleTime: Infinity,
    gcTime: Infinity,
    meta: { silent: true },
  });
  useEffect(() => {
    if (verify.isSuccess && session) void qc.invalidateQueries({ queryKey: queryKeys.me });
  }, [verify.isSuccess, session, qc]);

  const next = session ? <Link to="/">Go to the dashboard</Link> : <Link to="/login">Log in</Link>;
  return (
    <div className="auth-wrap">
      <Card className="auth-card stack" aria-labelledby="verify-title" data-testid="verify-email-page">
        <h1 id="verify-title">Verify your email</h1>
        {!token ? (
          <Alert kind="error" data-testid="verify-error">
            This link has no verification token. Open the link from your email again, or request a new one from your account page.
          </Alert>
        ) : verify.isPending ? (
          <p className="muted" aria-busy="true" data-testid="verify-pending">
            Checking your link…
          </p>
        ) : verify.isError ? (
          <Alert kind="error" data-testid="verify-error">
            {verify.error instanceof ApiError && verify.error.code === 'invalid_token'
              ? `${verify.error.message} Request a new link from your account page.`
              : errorMessage(verify.error)}
          </Alert>
        ) : (
          <Alert kind="info" data-testid="verify-success">
            {verify.data.message || 'Your email address is verified.'}
          </Alert>
        )}
        <p style={{ margin: 0 }}>{next}</p>
      </Card>
    </div>
  );
}

export function ForgotPasswordPage() {
  usePageTitle('Forgot password');
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await requestPasswordReset(email.trim());
      setSent(res.message);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="auth-wrap">
      <Card className="auth-card" aria-labelledby="forgot-title">
        <h1 id="forgot-title">Reset your password</h1>
        {sent !== null ? (
          <div className="stack" data-testid="forgot-sent">
            <Alert kind="info">
              If an account uses that address, we have sent it a link to choose a new password. The link expires soon, so
              use it shortly.
            </Alert>
            <p className="muted small" style={{ margin: 0 }}>
              No email? Check your spam folder or <button type="button" className="btn btn-ghost btn-sm" onClick={() => setSent(null)}>try again</button>.
            </p>
            <p style={{ margin: 0 }}>
              <Link to="/login">Back to log in</Link>
            </p>
          </div>
        ) : (
          <form onSubmit={onSubmit} data-testid="forgot-form">
            <p className="muted small" style={{ margin: 0 }}>
              Enter the email address you signed up with and we will send you a reset link.
            </p>
            <div className="field">
              <label htmlFor="forgot-email">Email</label>
              <input id="forgot-email" className="input" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
            </div>
            {error ? <Alert kind="error" data-testid="forgot-error">{error}</Alert> : null}
            <Button type="submit" variant="primary" loading={busy} data-testid="forgot-submit">
              Send reset link
            </Button>
            <p className="muted small" style={{ margin: 0 }}>
              Remembered it? <Link to="/login">Log in</Link>
            </p>
          </form>
        )}
      </Card>
    </div>
  );
}

export function ResetPasswordPage() {
  usePageTitle('Reset password');
  const [params] = useSearchParams();
  const token = params.get('token')?.trim() ?? '';
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [badToken, setBadToken] = useState(false);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setBadToken(false);
    const invalid = newPasswordError(password, confirm);
    if (invalid) {
      setError(invalid);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await confirmPasswordReset(token, password);
      setDone(true);
    } catch (err) {
      setBadToken(err instanceof ApiError && err.code === 'invalid_token');
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="auth-wrap">
      <Card className="auth-card" aria-labelledby="reset-title">
        <h1 id="reset-title">Choose a new password</h1>
        {!token ? (
          <div className="stack">
            <Alert kind="error" data-testid="reset-error">
              This link has no reset token. Open the link from your email again.
            </Alert>
            <p style={{ margin: 0 }}>
              <Link to="/forgot-password">Request a new reset link</Link>
            </p>
          </div>
        ) : done ? (
          <div className="stack" data-testid="reset-done">
            <Alert kind="info">Your password has been changed.</Alert>
            <p style={{ margin: 0 }}>
              <Link to="/login" data-testid="reset-login-link">Log in with your new password</Link>
            </p>
          </div>
        ) : (
          <form onSubmit={onSubmit} data-testid="reset-form" noValidate>
            <div className="field">
              <label htmlFor="reset-password">New password</label>
              <input
                id="reset-password"
                className="input"
                type="password"
                autoComplete="new-password"
                required
                minLength={MIN_PASSWORD}
                value={password}
                onChange={(e) => setPassword(e.target.value)}
                aria-describedby="reset-password-hint"
              />
              <span id="reset-password-hint" className="field-hint">At least {MIN_PASSWORD} characters, and not easy to guess.</span>
              <PasswordMeter password={password} />
            </div>
            <div className="field">
              <label htmlFor="reset-confirm">Confirm new password</label>
              <input id="reset-confirm" className="input" type="password" autoComplete="new-password" required value={confirm} onChange={(e) => setConfirm(e.target.value)} />
            </div>
            {error ? <Alert kind="error" data-testid="reset-error">{error}</Alert> : null}
            {badToken ? (
              <p className="small" style={{ margin: 0 }}>
                <Link to="/forgot-password">Request a new reset link</Link>
              </p>
            ) : null}
            <Button type="submit" variant="primary" loading={busy} data-testid="reset-submit">
              Set new password
            </Button>
          </form>
        )}
      </Card>
    </div>
  );
}

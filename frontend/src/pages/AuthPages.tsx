import { useState, type FormEvent } from 'react';
import { Link, Navigate, useLocation, useNavigate } from 'react-router-dom';
import { errorMessage } from '../api/client';
import { register } from '../api/endpoints';
import { useAuth } from '../auth';
import { Alert, Button, Card } from '../components/ui';
import { PasswordMeter } from '../components/PasswordMeter';
import { usePageTitle } from '../lib/pageTitle';

/** What stockdash is, beside the sign-in form: a first visit should not be a bare login card. */
function ProductIntro() {
  return (
    <section className="intro" aria-labelledby="intro-title" data-testid="product-intro">
      <h2 id="intro-title" className="intro-title">Explainable AI scores for your S&amp;P 500 watchlist</h2>
      <p>
        stockdash tracks the stocks you pick and shows what four analyst models make of each: <b>Basic</b> (technical and
        valuation check-up), <b>Warren Buffett</b> (value), <b>Peter Lynch</b> (growth at a reasonable price) and <b>DCF</b>{' '}
        (discounted cash flow).
      </p>
      <ul>
        <li>Every score lists its factors: the value, the rule and the points it earned.</li>
        <li>Prices, candlestick charts and multi-year fundamentals for all S&amp;P 500 companies.</li>
        <li>Free for 5 stocks; Pro and Expert add analysts and room for 10 or 20.</li>
      </ul>
      <p className="small muted">Self-hosted and open source: your watchlist stays on this server.</p>
    </section>
  );
}

export function LoginPage() {
  const { token, login } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const state = location.state as { from?: string; reason?: string } | null;
  const from = state?.from ?? '/';
  usePageTitle('Log in');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (token) return <Navigate to={from} replace />;

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(username.trim(), password);
      navigate(from, { replace: true });
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="auth-wrap">
      <ProductIntro />
      <Card className="auth-card" aria-labelledby="login-title">
        <h1 id="login-title">Log in</h1>
        {state?.reason === 'expired' ? (
          <Alert kind="info" data-testid="session-expired">
            Your session ended (it expired, or your password was changed), so you were signed out. Log in again to continue
            where you were.
          </Alert>
        ) : null}
        <form onSubmit={onSubmit} data-testid="login-form">
          <div className="field">
            <label htmlFor="login-username">Username or email</label>
            <input id="login-username" className="input" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="login-password">Password</label>
            <input id="login-password" className="input" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
            <Link to="/forgot-password" className="small" style={{ alignSelf: 'flex-end' }} data-testid="forgot-link">
              Forgot password?
            </Link>
          </div>
          {error ? <Alert kind="error" data-testid="auth-error">{error}</Alert> : null}
          <Button type="submit" variant="primary" loading={busy} data-testid="login-submit">
            Log in
          </Button>
          <p className="muted small" style={{ margin: 0 }}>
            No account? <Link to="/register">Sign up</Link>
          </p>
        </form>
      </Card>
    </div>
  );
}

export function RegisterPage() {
  const { token, login } = useAuth();
  const navigate = useNavigate();
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  usePageTitle('Sign up');
  if (token) return <Navigate to="/" replace />;

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    if (password.length < 8) {
      setError('Password must be at least 8 characters.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await register({ username: username.trim(), email: email.trim(), password });
      await login(username.trim(), password);
      navigate('/', { replace: true });
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="auth-wrap">
      <ProductIntro />
      <Card className="auth-card" aria-labelledby="register-title">
        <h1 id="register-title">Create your account</h1>
        <form onSubmit={onSubmit} data-testid="register-form">
          <div className="field">
            <label htmlFor="reg-username">Username</label>
            <input id="reg-username" className="input" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="reg-email">Email</label>
            <input id="reg-email" className="input" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="reg-password">Password</label>
            <input id="reg-password" className="input" type="password" autoComplete="new-password" required minLength={8} value={password} onChange={(e) => setPassword(e.target.value)} aria-describedby="reg-password-hint" />
            <span id="reg-password-hint" className="field-hint">At least 8 characters, and not easy to guess.</span>
            <PasswordMeter password={password} context={[username, email]} />
          </div>
          {error ? <Alert kind="error" data-testid="auth-error">{error}</Alert> : null}
          <Button type="submit" variant="primary" loading={busy} data-testid="register-submit">
            Sign up
          </Button>
          <p className="muted small" style={{ margin: 0 }}>
            Already have an account? <Link to="/login">Log in</Link>
          </p>
        </form>
      </Card>
    </div>
  );
}

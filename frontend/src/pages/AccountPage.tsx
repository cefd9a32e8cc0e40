import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { useAuth } from '../auth';
import { AlertsOverview } from '../components/Alerts';
import { ApiKeysSection } from '../components/ApiKeys';
import { ChangePasswordForm } from '../components/ChangePasswordForm';
import { VerifyEmailBanner } from '../components/VerifyEmailBanner';
import { Badge, Button, Card, PageLoader } from '../components/ui';
import { formatDateTime } from '../lib/format';
import { modelName, sortModels, tierName } from '../lib/models';
import { usePageTitle } from '../lib/pageTitle';
import { useTheme } from '../theme';

export default function AccountPage() {
  usePageTitle('Account');
  const { user, logout } = useAuth();
  const { theme, setTheme } = useTheme();
  if (!user) return <PageLoader />;
  const rows: [string, ReactNode][] = [
    ['Username', user.username],
    // A break opportunity before the @ (never inside the name or domain), and a full-width row.
    ['Email', <><span className="email">{emailParts(user.email)}</span> {user.email_verified ? <Badge tone="positive">verified</Badge> : <Badge>unverified</Badge>}</>],
    ['Plan', <>{tierName(user.subscription_tier)} · <Link to="/plans">change plan</Link></>],
    ['Watchlist limit', `${user.max_stocks} stocks`],
    ['AI analysts', sortModels(user.allowed_models).map(modelName).join(', ') || '—'],
    ['Role', user.role],
    ['Member since', formatDateTime(user.created_at)],
  ];
  return (
    <div className="stack" data-testid="account-page">
      <h1>Account</h1>
      <VerifyEmailBanner />
      <Card>
        <dl className="stats">
          {rows.map(([k, v]) => (
            <div key={k} className={k === 'Email' ? 'stat-wide' : undefined}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      </Card>
      <AlertsOverview />
      <ChangePasswordForm />
      <ApiKeysSection />
      <Card aria-labelledby="prefs-title">
        <h2 id="prefs-title">Preferences</h2>
        <div className="row" role="radiogroup" aria-label="Theme">
          {(['light', 'dark'] as const).map((t) => (
            <label key={t} className="row" style={{ gap: 4 }}>
              <input type="radio" name="theme" checked={theme === t} onChange={() => setTheme(t)} /> {tierName(t)}
            </label>
          ))}
        </div>
      </Card>
      <div>
        <Button onClick={logout}>Log out</Button>
      </div>
    </div>
  );
}

function emailParts(email: string): ReactNode {
  const at = email.indexOf('@');
  if (at <= 0) return email;
  return (
    <>
      {email.slice(0, at)}
      <wbr />
      {email.slice(at)}
    </>
  );
}

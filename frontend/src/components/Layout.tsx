import { Suspense } from 'react';
import { NavLink, Link, Outlet } from 'react-router-dom';
import { useAuth } from '../auth';
import { ThemeToggle } from '../theme';
import { Badge, PageLoader } from './ui';
import { tierName } from '../lib/models';
import { GO_KEYS, useShortcuts } from '../lib/shortcuts';
import { LiveIndicator, LiveProvider } from '../live';
import { NotificationsBell } from './NotificationsBell';

export function Layout() {
  const { token, user, logout } = useAuth();
  useShortcuts(!!token);
  return (
    <LiveProvider enabled={!!token}>
      <a className="skip-link" href="#main" data-testid="skip-link">
        Skip to content
      </a>
      <header className="app-header">
        <div className="app-header-inner">
          <Link to="/" className="brand" aria-label="stockdash home">
            stockdash
          </Link>
          {token ? (
            <nav className="nav" aria-label="Main">
              <NavLink to="/" end>
                Dashboard
              </NavLink>
              <NavLink to="/plans">Plans</NavLink>
              <NavLink to="/performance">Performance</NavLink>
              <NavLink to="/account">Account</NavLink>
              {user?.role === 'admin' ? (
                <NavLink to="/admin" data-testid="nav-admin">
                  Admin
                </NavLink>
              ) : null}
            </nav>
          ) : (
            <span style={{ flex: 1 }} />
          )}
          <div className="header-actions">
            {token ? <LiveIndicator /> : null}
            {token ? <NotificationsBell /> : null}
            {user ? (
              <Badge tone="info" data-testid="tier-badge" title="Your plan">
                {tierName(user.subscription_tier)}
              </Badge>
            ) : null}
            <ThemeToggle />
            {token ? (
              <button type="button" className="btn btn-sm" onClick={logout} data-testid="logout">
                Log out
              </button>
            ) : null}
          </div>
        </div>
      </header>
      <main className="main" id="main" tabIndex={-1}>
        <Suspense fallback={<PageLoader />}>
          <Outlet />
        </Suspense>
      </main>
      {token ? (
        <footer className="app-footer small muted" data-testid="shortcuts-help">
          Keyboard: <kbd>/</kbd> search stocks ·{' '}
          {Object.entries(GO_KEYS).map(([k, v], i) => (
            <span key={k}>
              {i ? ' · ' : ''}
              <kbd>g</kbd> <kbd>{k}</kbd> {v.name}
            </span>
          ))}
        </footer>
      ) : null}
    </LiveProvider>
  );
}

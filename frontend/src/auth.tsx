import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { useLocation, useNavigate, Navigate } from 'react-router-dom';
import { getRefreshToken, getToken, setRefreshToken, setToken, TOKEN_REFRESHED_EVENT, UNAUTHORIZED_EVENT } from './api/client';
import { getMe, login as apiLogin, queryKeys } from './api/endpoints';
import type { User } from './api/types';
import { clearSnapshots } from './lib/snapshot';

interface AuthCtx {
  token: string | null;
  user: User | undefined;
  userLoading: boolean;
  login: (username: string, password: string) => Promise<void>;
  logout: () => void;
  /** The server ended the session (expired, or cut by a password change): the login page says so. */
  sessionEnded: boolean;
  /** The user logged out: the next login starts at the dashboard, not the page they left. */
  signedOut: boolean;
}

const Ctx = createContext<AuthCtx | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [token, setTokenState] = useState<string | null>(getToken);
  const [sessionEnded, setSessionEnded] = useState(false);
  const [signedOut, setSignedOut] = useState(false);
  const qc = useQueryClient();
  const navigate = useNavigate();

  const me = useQuery({ queryKey: queryKeys.me, queryFn: getMe, enabled: !!token, staleTime: 60_000 });

  const logout = useCallback(() => {
    const refreshToken = getRefreshToken();
    if (refreshToken) {
      // Revoke the session server-side; the local sign-out does not wait for it.
      void fetch('/api/v1/auth/logout', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refresh_token: refreshToken }),
      }).catch(() => undefined);
    }
    setToken(null);
    setRefreshToken(null);
    setSignedOut(true);
    setTokenState(null);
    qc.clear();
    clearSnapshots();
    navigate('/login', { replace: true });
  }, [qc, navigate]);

  useEffect(() => {
    const onUnauthorized = () => {
      setSessionEnded(true);
      setTokenState(null);
      qc.clear();
      // Say why: the session ran out or was ended elsewhere (a password change signs out everywhere).
      const from = window.location.pathname;
      navigate('/login', { replace: true, state: { reason: 'expired', from: from.startsWith('/login') ? '/' : from } });
    };
    const onRefreshed = () => setTokenState(getToken());
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    window.addEventListener(TOKEN_REFRESHED_EVENT, onRefreshed);
    return () => {
      window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
      window.removeEventListener(TOKEN_REFRESHED_EVENT, onRefreshed);
    };
  }, [qc, navigate]);

  const login = useCallback(
    async (username: string, password: string) => {
      const t = await apiLogin(username, password);
      qc.clear();
      clearSnapshots();
      setSessionEnded(false);
      setSignedOut(false);
      setToken(t.access_token);
      setRefreshToken(t.refresh_token);
      setTokenState(t.access_token);
    },
    [qc],
  );

  const value = useMemo(
    () => ({ token, user: me.data, userLoading: !!token && me.isPending, login, logout, sessionEnded, signedOut }),
    [token, me.data, me.isPending, login, logout, sessionEnded, signedOut],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useAuth(): AuthCtx {
  const v = useContext(Ctx);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}

/** Renders children only when logged in; otherwise redirects to /login. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { token, sessionEnded, signedOut } = useAuth();
  const location = useLocation();
  if (!token) {
    if (signedOut) return <Navigate to="/login" replace />;
    return <Navigate to="/login" replace state={{ from: location.pathname, reason: sessionEnded ? 'expired' : undefined }} />;
  }
  // Pages render at once (their own requests start in parallel with /users/me)
  // and cope with `user` still loading.
  return <>{children}</>;
}

import createClient, { type Middleware } from 'openapi-fetch';
import type { paths } from './schema';

const TOKEN_KEY = 'stockdash.token';
const REFRESH_KEY = 'stockdash.refresh';
export const UNAUTHORIZED_EVENT = 'stockdash:unauthorized';
export const TOKEN_REFRESHED_EVENT = 'stockdash:token-refreshed';

export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage unavailable: token lives for this page only */
  }
}

export function getRefreshToken(): string | null {
  try {
    return localStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

export function setRefreshToken(token: string | null | undefined): void {
  try {
    if (token) localStorage.setItem(REFRESH_KEY, token);
    else localStorage.removeItem(REFRESH_KEY);
  } catch {
    /* storage unavailable */
  }
}

let refreshing: Promise<string | null> | null = null;

/** Trades the stored refresh token for a new pair; one call at a time however many requests wait. */
export function refreshAccessToken(): Promise<string | null> {
  const refreshToken = getRefreshToken();
  if (!refreshToken) return Promise.resolve(null);
  refreshing ??= fetch(`${baseUrl()}/api/v1/auth/refresh`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: refreshToken }),
  })
    .then(async (res) => {
      if (!res.ok) return null;
      const body = (await res.json()) as { access_token: string; refresh_token?: string };
      setToken(body.access_token);
      setRefreshToken(body.refresh_token);
      window.dispatchEvent(new Event(TOKEN_REFRESHED_EVENT));
      return body.access_token;
    })
    .catch(() => null)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/** An error the API answered with: `{"error": {"code", "message", "details"}}`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Builds an ApiError from whatever body came back (tolerates FastAPI's `{detail}` too). */
export function toApiError(status: number, body: unknown): ApiError {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const err = b.error as Record<string, unknown> | undefined;
    if (err && typeof err === 'object') {
      return new ApiError(
        status,
        String(err.code ?? `http_${status}`),
        String(err.message ?? `Request failed (${status})`),
        err.details,
      );
    }
    if (typeof b.detail === 'string') return new ApiError(status, `http_${status}`, b.detail);
    if (Array.isArray(b.detail)) {
      const first = b.detail[0] as { msg?: string } | undefined;
      return new ApiError(status, 'validation_error', first?.msg ?? 'Invalid input', b.detail);
    }
  }
  if (typeof body === 'string' && body.trim()) {
    return new ApiError(status, `http_${status}`, body.trim().slice(0, 200));
  }
  return new ApiError(status, `http_${status}`, `Request failed (${status})`);
}

export const OFFLINE_MESSAGE = "Can't reach the stockdash server. Check your connection, then retry.";

/** Whether the request never got an answer (server down, network off). */
export function isNetworkError(err: unknown): boolean {
  return err instanceof TypeError || (err instanceof Error && /failed to fetch|networkerror|load failed/i.test(err.message));
}

/**
 * What to tell a person: the API's own message for their mistakes (4xx, written for
 * people), a plain sentence for server trouble and lost connections (never raw text).
 */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 503) return 'A service stockdash depends on is down right now. Try again in a moment.';
    if (err.status >= 500) return `The server had a problem (error ${err.status}). Try again in a moment.`;
    return err.message;
  }
  if (isNetworkError(err)) return OFFLINE_MESSAGE;
  if (err instanceof Error) return err.message;
  return 'Something went wrong';
}

// Unsent copies of requests, so one can be replayed after a token refresh.
const replayable = new WeakMap<Request, Request>();

function isAuthRoute(url: string): boolean {
  return /\/auth\/(login|refresh|logout|register)/.test(url);
}

const authMiddleware: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    if (!isAuthRoute(request.url)) replayable.set(request, request.clone());
    return request;
  },
  async onResponse({ request, response }) {
    if (response.status !== 401 || isAuthRoute(request.url)) return response;
    const copy = replayable.get(request);
    const token = copy ? await refreshAccessToken() : null;
    if (copy && token) {
      copy.headers.set('Authorization', `Bearer ${token}`);
      return fetch(copy);
    }
    setToken(null);
    setRefreshToken(null);
    window.dispatchEvent(new Event(UNAUTHORIZED_EVENT));
    return response;
  },
};

function baseUrl(): string {
  return typeof window !== 'undefined' && window.location ? window.location.origin : '';
}

export const api = createClient<paths>({ baseUrl: baseUrl() });
api.use(authMiddleware);

/**
 * Unwraps an openapi-fetch result: returns data (typed by the route's response
 * schema, so a changed backend response fails `tsc` at the caller) or throws ApiError.
 */
export function unwrap<D>(result: { data?: D; error?: unknown; response: Response }): D {
  if (result.error !== undefined || !result.response.ok) {
    throw toApiError(result.response.status, result.error);
  }
  return result.data as D;
}

/** The signed-in account's id from the access token's `sub` (read, not verified: only to label local data). */
export function tokenSubject(token: string | null = getToken()): string | undefined {
  const part = token?.split('.')[1];
  if (!part) return undefined;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return sub === undefined || sub === null ? undefined : String(sub);
  } catch {
    return undefined;
  }
}

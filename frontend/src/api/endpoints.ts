import { api, unwrap } from './client';
import { adminUserQuery } from '../lib/admin';
import type {
  Alert,
  AlertCreate,
  AlertList,
  EmailMode,
  NotificationList,
  AppNotification,
  AdminStats,
  AdminUserFilters,
  AdminUserList,
  AdminUserUpdate,
  AuditLogList,
  ApiKeyCreated,
  ApiKeyList,
  Dashboard,
  DcfOverrides,
  Fundamentals,
  History,
  HistoryRange,
  Message,
  MultiAIAnalysis,
  Performance,
  SearchResult,
  SearchResults,
  Stock,
  Tier,
  TierList,
  Token,
  User,
  Watchlist,
  WatchlistItem,
} from './types';

export async function register(body: { username: string; email: string; password: string }): Promise<User> {
  return unwrap(await api.POST('/api/v1/auth/register', { body }));
}

export async function login(username: string, password: string): Promise<Token> {
  return unwrap(
    await api.POST('/api/v1/auth/login', {
      body: { username, password, scope: '' },
      bodySerializer: (b) => new URLSearchParams(b as Record<string, string>).toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    }),
  );
}

export async function getMe(): Promise<User> {
  return unwrap(await api.GET('/api/v1/users/me'));
}

export async function verifyEmail(token: string): Promise<Message> {
  return unwrap(await api.POST('/api/v1/auth/verify', { body: { token } }));
}

export async function resendVerification(): Promise<Message> {
  return unwrap(await api.POST('/api/v1/auth/verify/resend'));
}

export async function requestPasswordReset(email: string): Promise<Message> {
  return unwrap(await api.POST('/api/v1/auth/password-reset/request', { body: { email } }));
}

export async function confirmPasswordReset(token: string, new_password: string): Promise<Message> {
  return unwrap(await api.POST('/api/v1/auth/password-reset/confirm', { body: { token, new_password } }));
}

export async function changePassword(current_password: string, new_password: string): Promise<void> {
  unwrap(await api.POST('/api/v1/users/me/password', { body: { current_password, new_password } }));
}

export async function listApiKeys(): Promise<ApiKeyList> {
  return unwrap(await api.GET('/api/v1/api-keys'));
}

export async function createApiKey(name: string): Promise<ApiKeyCreated> {
  return unwrap(await api.POST('/api/v1/api-keys', { body: { name } }));
}

export async function deleteApiKey(id: number): Promise<void> {
  unwrap(await api.DELETE('/api/v1/api-keys/{key_id}', { params: { path: { key_id: id } } }));
}

export async function adminAuditLog(page: number, size = 20): Promise<AuditLogList> {
  return unwrap(await api.GET('/api/v1/admin/audit', { params: { query: { page, size } } }));
}

export async function adminListUsers(filters: AdminUserFilters, signal?: AbortSignal): Promise<AdminUserList> {
  return unwrap(await api.GET('/api/v1/admin/users', { params: { query: adminUserQuery(filters) }, signal }));
}

export async function adminUpdateUser(id: number, body: AdminUserUpdate): Promise<User> {
  return unwrap(await api.PATCH('/api/v1/admin/users/{user_id}', { params: { path: { user_id: id } }, body }));
}

export async function adminStats(): Promise<AdminStats> {
  return unwrap(await api.GET('/api/v1/admin/stats'));
}

export async function getTiers(): Promise<TierList> {
  return unwrap(await api.GET('/api/v1/subscriptions/tiers'));
}

export async function changeTier(tier: Tier): Promise<User> {
  return unwrap(await api.PUT('/api/v1/subscriptions/me', { body: { tier } }));
}

export async function getWatchlist(): Promise<Watchlist> {
  return unwrap(await api.GET('/api/v1/watchlist'));
}

export async function addToWatchlist(symbol: string): Promise<WatchlistItem> {
  return unwrap(await api.POST('/api/v1/watchlist', { body: { symbol } }));
}

export async function removeFromWatchlist(symbol: string): Promise<void> {
  unwrap(await api.DELETE('/api/v1/watchlist/{symbol}', { params: { path: { symbol } } }));
}

export async function searchStocks(q: string, limit = 8, signal?: AbortSignal): Promise<SearchResult[]> {
  const res: SearchResults = unwrap(await api.GET('/api/v1/stocks/search', { params: { query: { q, limit } }, signal }));
  return res.data;
}

export async function getStock(symbol: string): Promise<Stock> {
  return unwrap(await api.GET('/api/v1/stocks/{symbol}', { params: { path: { symbol } } }));
}

export async function getHistory(symbol: string, range: HistoryRange): Promise<History> {
  return unwrap(
    await api.GET('/api/v1/stocks/{symbol}/history', { params: { path: { symbol }, query: { range } } }),
  );
}

export async function getFundamentals(symbol: string): Promise<Fundamentals> {
  return unwrap(
    await api.GET('/api/v1/stocks/{symbol}/fundamentals', { params: { path: { symbol } } }),
  );
}

export async function getAnalysis(symbol: string, overrides?: DcfOverrides): Promise<MultiAIAnalysis> {
  return unwrap(
    await api.GET('/api/v1/stocks/{symbol}/analysis', {
      params: { path: { symbol }, query: overrides ?? {} },
    }),
  );
}

/** The whole watchlist for the dashboard cards: quotes, sparklines and summarised analyses. */
export async function getDashboard(): Promise<Dashboard> {
  return unwrap(await api.GET('/api/v1/dashboard', { params: { query: { view: 'summary' } } }));
}

export async function getPerformance(): Promise<Performance> {
  return unwrap(await api.GET('/api/v1/models/performance'));
}

/** A short-lived token for the live stream (never the access token in a URL). */
export async function getStreamToken(): Promise<string> {
  return unwrap(await api.POST('/api/v1/events/token')).token;
}

export async function listAlerts(symbol?: string): Promise<AlertList> {
  return unwrap(await api.GET('/api/v1/alerts', { params: { query: symbol ? { symbol } : {} } }));
}

export async function createAlert(body: AlertCreate): Promise<Alert> {
  return unwrap(await api.POST('/api/v1/alerts', { body }));
}

export async function deleteAlert(id: number): Promise<void> {
  unwrap(await api.DELETE('/api/v1/alerts/{alert_id}', { params: { path: { alert_id: id } } }));
}

export async function listNotifications(size = 10): Promise<NotificationList> {
  return unwrap(await api.GET('/api/v1/notifications', { params: { query: { size } } }));
}

export async function readNotification(id: number): Promise<AppNotification> {
  return unwrap(await api.POST('/api/v1/notifications/{notification_id}/read', { params: { path: { notification_id: id } } }));
}

export async function readAllNotifications(): Promise<number> {
  return unwrap(await api.POST('/api/v1/notifications/read-all')).updated;
}

export async function getEmailMode(): Promise<EmailMode> {
  return unwrap(await api.GET('/api/v1/notifications/settings')).email;
}

export async function setEmailMode(email: EmailMode): Promise<EmailMode> {
  return unwrap(await api.PUT('/api/v1/notifications/settings', { body: { email } })).email;
}

export const queryKeys = {
  me: ['me'] as const,
  tiers: ['tiers'] as const,
  watchlist: ['watchlist'] as const,
  dashboard: ['dashboard'] as const,
  search: (q: string) => ['search', q] as const,
  stock: (s: string) => ['stock', s] as const,
  history: (s: string, r: HistoryRange) => ['history', s, r] as const,
  fundamentals: (s: string) => ['fundamentals', s] as const,
  analysis: (s: string, o?: DcfOverrides) => (o ? (['analysis', s, o] as const) : (['analysis', s] as const)),
  performance: ['performance'] as const,
  apiKeys: ['api-keys'] as const,
  alerts: (symbol?: string) => (symbol ? (['alerts', symbol] as const) : (['alerts'] as const)),
  notifications: ['notifications'] as const,
  emailMode: ['notifications', 'settings'] as const,
  adminUsers: (f: AdminUserFilters) => ['admin', 'users', adminUserQuery(f)] as const,
  adminStats: ['admin', 'stats'] as const,
};

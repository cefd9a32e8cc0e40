import { api, unwrap } from './client';
import type {
  Dashboard,
  DcfOverrides,
  Fundamentals,
  History,
  HistoryRange,
  ListResponse,
  MultiAIAnalysis,
  Performance,
  SearchResult,
  Stock,
  Tier,
  TierInfo,
  Token,
  User,
  Watchlist,
  WatchlistItem,
} from './types';

export async function register(body: { username: string; email: string; password: string }): Promise<User> {
  return unwrap<User>(await api.POST('/api/v1/auth/register', { body }));
}

export async function login(username: string, password: string): Promise<Token> {
  return unwrap<Token>(
    await api.POST('/api/v1/auth/login', {
      body: { username, password, scope: '' },
      bodySerializer: (b) => new URLSearchParams(b as Record<string, string>).toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    }),
  );
}

export async function getMe(): Promise<User> {
  return unwrap<User>(await api.GET('/api/v1/users/me'));
}

export async function getTiers(): Promise<ListResponse<TierInfo>> {
  return unwrap<ListResponse<TierInfo>>(await api.GET('/api/v1/subscriptions/tiers'));
}

export async function changeTier(tier: Tier): Promise<User> {
  return unwrap<User>(await api.PUT('/api/v1/subscriptions/me', { body: { tier } }));
}

export async function getWatchlist(): Promise<Watchlist> {
  return unwrap<Watchlist>(await api.GET('/api/v1/watchlist'));
}

export async function addToWatchlist(symbol: string): Promise<WatchlistItem> {
  return unwrap<WatchlistItem>(await api.POST('/api/v1/watchlist', { body: { symbol } }));
}

export async function removeFromWatchlist(symbol: string): Promise<void> {
  unwrap<unknown>(await api.DELETE('/api/v1/watchlist/{symbol}', { params: { path: { symbol } } }));
}

export async function searchStocks(q: string, limit = 8, signal?: AbortSignal): Promise<SearchResult[]> {
  const res = unwrap<ListResponse<SearchResult>>(
    await api.GET('/api/v1/stocks/search', { params: { query: { q, limit } }, signal }),
  );
  return res.data;
}

export async function getStock(symbol: string): Promise<Stock> {
  return unwrap<Stock>(await api.GET('/api/v1/stocks/{symbol}', { params: { path: { symbol } } }));
}

export async function getHistory(symbol: string, range: HistoryRange): Promise<History> {
  return unwrap<History>(
    await api.GET('/api/v1/stocks/{symbol}/history', { params: { path: { symbol }, query: { range } } }),
  );
}

export async function getFundamentals(symbol: string): Promise<Fundamentals> {
  return unwrap<Fundamentals>(
    await api.GET('/api/v1/stocks/{symbol}/fundamentals', { params: { path: { symbol } } }),
  );
}

export async function getAnalysis(symbol: string, overrides?: DcfOverrides): Promise<MultiAIAnalysis> {
  return unwrap<MultiAIAnalysis>(
    await api.GET('/api/v1/stocks/{symbol}/analysis', {
      params: { path: { symbol }, query: overrides ?? {} },
    }),
  );
}

export async function getDashboard(): Promise<Dashboard> {
  return unwrap<Dashboard>(await api.GET('/api/v1/dashboard'));
}

export async function getPerformance(): Promise<Performance> {
  return unwrap<Performance>(await api.GET('/api/v1/models/performance'));
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
};

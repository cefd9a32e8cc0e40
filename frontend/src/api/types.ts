// Domain types, as the API contract describes them. The generated
// `schema.d.ts` types the request side (paths, params, bodies); responses are
// narrowed to these in endpoints.ts so pages don't depend on schema naming.

export type Tier = 'free' | 'pro' | 'expert';
export type Signal = 'bullish' | 'neutral' | 'bearish';
export type ModelId = 'basic' | 'warren_buffett' | 'peter_lynch' | 'dcf_math' | (string & {});
export type HistoryRange = '1m' | '3m' | '6m' | '1y' | '5y' | 'max';

export interface User {
  id: number | string;
  username: string;
  email: string;
  subscription_tier: Tier;
  max_stocks: number;
  allowed_models: string[];
  role: string;
  is_active: boolean;
  email_verified: boolean;
  created_at: string;
}

export interface Token {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
}

export type Role = 'user' | 'admin';

export interface Message {
  message: string;
}

export interface ApiKey {
  id: number;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
}

/** A freshly created key: `key` is the full secret, shown this one time. */
export interface ApiKeyCreated extends ApiKey {
  key: string;
}

export interface AdminUserFilters {
  q?: string;
  tier?: Tier | '';
  active?: boolean | null;
  page?: number;
  size?: number;
}

export interface AdminUserList extends ListResponse<User> {
  page: number;
  size: number;
}

export interface AdminUserUpdate {
  tier?: Tier;
  role?: Role;
  is_active?: boolean;
}

export interface AdminStats {
  total_users: number;
  active_users: number;
  users_by_tier: Partial<Record<Tier, number>>;
  registrations_per_day: { date: string; count: number }[];
  conversions: number;
  most_tracked: { symbol: string; count: number }[];
}

export interface TierInfo {
  tier: Tier;
  name: string;
  max_stocks: number;
  models: string[];
  price_label?: string | null;
}

export interface ListResponse<T> {
  data: T[];
  count: number;
}

export interface WatchlistItem {
  symbol: string;
  added_at: string;
}

export interface Watchlist extends ListResponse<WatchlistItem> {
  max_stocks: number;
}

export interface SearchResult {
  symbol: string;
  name: string;
  exchange?: string | null;
  sector?: string | null;
}

export interface Stock {
  symbol: string;
  name: string;
  sector?: string | null;
  industry?: string | null;
  price: number | null;
  change: number | null;
  change_percent: number | null;
  volume?: number | null;
  market_cap?: number | null;
  pe_ratio?: number | null;
  eps?: number | null;
  /** A fraction (0.0234 = 2.34%). */
  dividend_yield?: number | null;
  exchange?: string | null;
  week52_high?: number | null;
  week52_low?: number | null;
  as_of: string | null;
  source: string;
  stale: boolean;
}

export interface Bar {
  date: string;
  open: number | null;
  high: number | null;
  low: number | null;
  close: number;
  volume: number | null;
}

export interface History {
  symbol: string;
  source: string;
  bars: Bar[];
}

export interface FundamentalsYear {
  fiscal_year: number;
  period_end?: string | null;
  revenue?: number | null;
  gross_profit?: number | null;
  operating_income?: number | null;
  net_income?: number | null;
  eps_diluted?: number | null;
  operating_cash_flow?: number | null;
  capital_expenditure?: number | null;
  free_cash_flow?: number | null;
  total_debt?: number | null;
  cash?: number | null;
  shareholders_equity?: number | null;
  shares_outstanding?: number | null;
  dividends_per_share?: number | null;
}

export interface Fundamentals extends ListResponse<FundamentalsYear> {
  symbol: string;
  source: string;
  currency: string;
}

export interface Factor {
  name: string;
  value: unknown;
  benchmark: unknown;
  points: number;
  max_points: number;
  explanation: string;
}

export interface AnalystResult {
  model: ModelId;
  score: number;
  signal: Signal;
  confidence: number;
  summary: string;
  reasoning: string;
  factors: Factor[];
  inputs_as_of?: string | null;
  methodology_version?: string;
}

export interface LockedModel {
  model: ModelId;
  required_tier: Tier;
}

export interface Consensus {
  score: number;
  signal: Signal;
  agreement: number;
}

export interface MultiAIAnalysis {
  symbol: string;
  as_of: string | null;
  analyses: Record<string, AnalystResult>;
  locked_models: LockedModel[];
  consensus: Consensus | null;
}

export interface DashboardItem {
  symbol: string;
  added_at: string;
  quote: Stock | null;
  analysis: MultiAIAnalysis | null;
  sparkline: number[];
}

export interface Dashboard extends ListResponse<DashboardItem> {
  max_stocks: number;
}

export interface ModelPerformance {
  model: ModelId;
  rank_ic: number | null;
  hit_rate: number | null;
  top_quintile_return: number | null;
  universe_return: number | null;
  excess_return: number | null;
  sharpe: number | null;
  sortino: number | null;
  max_drawdown: number | null;
  equity_curve: { date: string; value: number }[];
}

export interface Performance {
  source: string;
  generated_at: string;
  note?: string | null;
  models: ModelPerformance[];
}

export interface DcfOverrides {
  discount_rate?: number;
  terminal_growth?: number;
  growth?: number;
}

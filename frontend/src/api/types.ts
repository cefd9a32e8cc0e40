// Domain types, derived from the generated `schema.d.ts` (the backend's own
// OpenAPI document, `make client`): when the backend changes a response, `tsc`
// fails here or where a page reads the changed field. Nothing is hand-written
// except request-side conveniences (filters, overrides) built from the schema.
import type { components, paths } from './schema';

type Schemas = components['schemas'];

export type Tier = Schemas['Tier'];
export type ModelId = Schemas['AnalystModel'];
export type Signal = Schemas['Consensus']['signal'];
export type Role = Schemas['UserPublic']['role'];
export type HistoryRange = Schemas['HistoryPublic']['range'];

export type User = Schemas['UserPublic'];
export type Token = Schemas['TokenResponse'];
export type Message = Schemas['MessageResponse'];

export type ApiKey = Schemas['ApiKeyPublic'];
/** A freshly created key: `key` is the full secret, shown this one time. */
export type ApiKeyCreated = Schemas['ApiKeyCreated'];
export type ApiKeyList = Schemas['ApiKeyList'];

export type AdminUserList = Schemas['AdminUserList'];
export type AdminUserUpdate = Schemas['AdminUserUpdate'];
export type AdminStats = Schemas['AdminStats'];
export type AuditLogList = Schemas['AuditLogList'];
export type AuditLogEntry = Schemas['AuditLogPublic'];
/** The admin user list's filters as the page keeps them ('' = any tier). */
export interface AdminUserFilters {
  q?: string;
  tier?: Tier | '';
  active?: boolean | null;
  page?: number;
  size?: number;
}

export type TierInfo = Schemas['TierPublic'];
export type TierList = Schemas['TierList'];

export type WatchlistItem = Schemas['WatchlistItem'];
export type Watchlist = Schemas['WatchlistPublic'];

export type SearchResult = Schemas['SearchResult'];
export type SearchResults = Schemas['SearchResults'];

export type Stock = Schemas['StockPublic'];
export type Bar = Schemas['BarPublic'];
export type History = Schemas['HistoryPublic'];
export type FundamentalsYear = Schemas['FundamentalsRow'];
export type Fundamentals = Schemas['FundamentalsPublic'];

export type Factor = Schemas['Factor'];
export type AnalystResult = Schemas['Analysis'];
export type Consensus = Schemas['Consensus'];
export type MultiAIAnalysis = Schemas['MultiAIAnalysis'];

/** The dashboard as the page loads it (`GET /dashboard?view=summary`): per model only the
 * score, signal, confidence and summary; the stock page loads the full analyses. */
export type DashboardItem = Schemas['DashboardSummaryItem'];
export type Dashboard = Schemas['DashboardSummary'];

export type ModelPerformance = Schemas['ModelPerformance'];
export type Performance = Schemas['ModelPerformanceReport'];

/** DCF assumptions a user may try (fractions: 0.09 = 9 %). */
export type DcfOverrides = Pick<
  NonNullable<paths['/api/v1/stocks/{symbol}/analysis']['get']['parameters']['query']>,
  'discount_rate' | 'terminal_growth' | 'growth'
>;

export type Alert = Schemas['AlertPublic'];
export type AlertList = Schemas['AlertList'];
export type AlertCreate = Schemas['AlertCreate'];
export type AlertKind = Schemas['AlertKind'];
export type AppNotification = Schemas['NotificationPublic'];
export type NotificationList = Schemas['NotificationList'];
export type EmailMode = Schemas['EmailMode'];

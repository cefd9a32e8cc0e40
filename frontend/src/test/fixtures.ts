// Typed builders for component tests: shaped exactly like the API's responses
// (the types come from the generated schema), with per-test overrides.
import type { AnalystResult, Consensus, Dashboard, DashboardItem, Factor, MultiAIAnalysis, Stock, TierInfo, TierList, User, Watchlist } from '../api/types';

export function makeUser(over: Partial<User> = {}): User {
  return {
    id: 1,
    username: 'ann',
    email: 'ann@example.com',
    subscription_tier: 'free',
    max_stocks: 5,
    allowed_models: ['basic'],
    role: 'user',
    is_active: true,
    email_verified: false,
    created_at: '2024-01-01T00:00:00Z',
    ...over,
  };
}

export const TIERS: TierInfo[] = [
  { tier: 'free', name: 'Free', max_stocks: 5, max_alerts: 5, models: ['basic'], description: 'Try it out: five stocks, the basic analyst.' },
  {
    tier: 'pro',
    name: 'Pro',
    max_stocks: 10,
    max_alerts: 20,
    models: ['basic', 'warren_buffett', 'peter_lynch'],
    description: 'Ten stocks and the Buffett and Lynch analysts.',
  },
  {
    tier: 'expert',
    name: 'Expert',
    max_stocks: 20,
    max_alerts: 50,
    models: ['basic', 'warren_buffett', 'peter_lynch', 'dcf_math'],
    description: 'Twenty stocks and every analyst, including the DCF model.',
  },
];

export function makeStock(symbol: string, over: Partial<Stock> = {}): Stock {
  return {
    symbol,
    name: `${symbol} Inc.`,
    sector: null,
    industry: null,
    exchange: null,
    price: 10,
    price_note: null,
    change: 1,
    change_percent: 10,
    volume: null,
    market_cap: null,
    pe_ratio: null,
    eps: null,
    dividend_yield: null,
    week52_high: null,
    week52_low: null,
    as_of: '2024-06-03',
    source: 'snapshot',
    stale: false,
    last_updated: '2024-06-03T20:00:00Z',
    ...over,
  };
}

export function makeFactor(over: Partial<Factor> = {}): Factor {
  return { name: 'Factor', value: null, benchmark: null, points: 0, max_points: 0, explanation: '', ...over };
}

export function makeAnalyst(model: AnalystResult['model'], score: number, over: Partial<AnalystResult> = {}): AnalystResult {
  return {
    model,
    score,
    signal: score >= 65 ? 'bullish' : score <= 35 ? 'bearish' : 'neutral',
    confidence: 1,
    summary: '',
    reasoning: '',
    factors: [],
    inputs_as_of: '2024-06-03',
    methodology_version: `${model}-1.0`,
    ...over,
  };
}

export function makeConsensus(score: number, over: Partial<Consensus> = {}): Consensus {
  return {
    score,
    signal: score >= 65 ? 'bullish' : score <= 35 ? 'bearish' : 'neutral',
    agreement: 1,
    confidence: 1,
    method: 'equal-weight mean',
    ...over,
  };
}

export function makeAnalysis(symbol: string, scores: Partial<Record<AnalystResult['model'], number>>, over: Partial<MultiAIAnalysis> = {}): MultiAIAnalysis {
  const analyses: MultiAIAnalysis['analyses'] = {};
  for (const [model, score] of Object.entries(scores) as [AnalystResult['model'], number][]) {
    analyses[model] = makeAnalyst(model, score);
  }
  const values = Object.values(scores);
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  return {
    symbol,
    as_of: '2024-06-03',
    analyses,
    locked_models: [],
    consensus: values.length ? makeConsensus(mean) : null,
    ...over,
  };
}

export function makeItem(symbol: string, over: Partial<DashboardItem> = {}): DashboardItem {
  return {
    symbol,
    added_at: '2024-01-01T00:00:00Z',
    quote: makeStock(symbol),
    analysis: makeAnalysis(symbol, { basic: 70 }),
    sparkline: [1, 2],
    error: null,
    ...over,
  };
}

/** The tiers as GET /subscriptions/tiers answers them. */
export const TIER_LIST: TierList = { data: TIERS, count: TIERS.length };

export function makeWatchlist(symbols: string[], max = 5): Watchlist {
  return {
    data: symbols.map((symbol) => ({ symbol, added_at: '2024-01-01T00:00:00Z' })),
    count: symbols.length,
    max_stocks: max,
  };
}

export function makeDashboard(symbols: string[], max = 20): Dashboard {
  return { data: symbols.map((s) => makeItem(s)), count: symbols.length, max_stocks: max };
}

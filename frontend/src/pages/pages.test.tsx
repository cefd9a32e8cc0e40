import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import type { Dashboard, User, Watchlist } from '../api/types';
import { renderWithProviders } from '../test/utils';

const USER: User = {
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
};

vi.mock('../auth', () => ({
  useAuth: () => ({ token: 't', user: USER, userLoading: false, login: vi.fn(), logout: vi.fn() }),
}));

const api = vi.hoisted(() => ({
  getWatchlist: vi.fn(),
  getDashboard: vi.fn(),
  getTiers: vi.fn(),
  addToWatchlist: vi.fn(),
  removeFromWatchlist: vi.fn(),
  searchStocks: vi.fn(),
  changeTier: vi.fn(),
}));
vi.mock('../api/endpoints', async (orig) => ({ ...(await orig<object>()), ...api }));

const { default: DashboardPage } = await import('./DashboardPage');
const { default: PlansPage } = await import('./PlansPage');

const TIERS = {
  data: [
    { tier: 'free', name: 'Free', max_stocks: 5, models: ['basic'] },
    { tier: 'pro', name: 'Pro', max_stocks: 10, models: ['basic', 'warren_buffett', 'peter_lynch'] },
    { tier: 'expert', name: 'Expert', max_stocks: 20, models: ['basic', 'warren_buffett', 'peter_lynch', 'dcf_math'] },
  ],
  count: 3,
};

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const watchlistOf = (symbols: string[], max = 5): Watchlist => ({
  data: symbols.map((symbol) => ({ symbol, added_at: '2024-01-01T00:00:00Z' })),
  count: symbols.length,
  max_stocks: max,
});

beforeEach(() => {
  Object.values(api).forEach((f) => f.mockReset());
  api.getTiers.mockResolvedValue(TIERS);
});

describe('DashboardPage', () => {
  it('shows the empty state and the counter', async () => {
    api.getWatchlist.mockResolvedValue(watchlistOf([]));
    api.getDashboard.mockResolvedValue({ data: [], count: 0, max_stocks: 5 });
    renderWithProviders(<DashboardPage />);
    expect(await screen.findByTestId('empty-watchlist')).toBeInTheDocument();
    expect(screen.getByTestId('watchlist-counter')).toHaveTextContent('0 / 5');
    expect(screen.queryByTestId('upgrade-prompt')).toBeNull();
  });

  it('paints cards from /watchlist before /dashboard answers, then fills them in', async () => {
    const dash = deferred<Dashboard>();
    api.getWatchlist.mockResolvedValue(watchlistOf(['AAPL', 'MSFT']));
    api.getDashboard.mockReturnValue(dash.promise);
    renderWithProviders(<DashboardPage />);
    const row = await screen.findByTestId('stock-row-AAPL');
    expect(row).toHaveAttribute('data-loaded', 'false');
    expect(screen.getByTestId('stock-row-MSFT')).toBeInTheDocument();

    dash.resolve({
      count: 2,
      max_stocks: 5,
      data: ['AAPL', 'MSFT'].map((symbol) => ({
        symbol,
        added_at: '2024-01-01T00:00:00Z',
        sparkline: [1, 2],
        quote: { symbol, name: symbol, price: 10, change: 1, change_percent: 10, as_of: '2024-06-03', source: 'snapshot', stale: false },
        analysis: {
          symbol,
          as_of: null,
          analyses: { basic: { model: 'basic', score: 70, signal: 'bullish', confidence: 1, summary: '', reasoning: '', factors: [] } },
          locked_models: [],
          consensus: { score: 70, signal: 'bullish', agreement: 1 },
        },
      })),
    });
    await waitFor(() => expect(screen.getByTestId('stock-row-AAPL')).toHaveAttribute('data-loaded', 'true'));
    expect(within(screen.getByTestId('stock-row-MSFT')).getByTestId('consensus-score')).toHaveTextContent('70');
  });

  it('shows the upgrade prompt when full and the server message when adding is refused', async () => {
    const five = ['AAPL', 'MSFT', 'KO', 'JNJ', 'JPM'];
    api.getWatchlist.mockResolvedValue(watchlistOf(five));
    api.getDashboard.mockResolvedValue({ data: [], count: 5, max_stocks: 5 });
    api.searchStocks.mockResolvedValue([{ symbol: 'XOM', name: 'Exxon Mobil' }]);
    api.addToWatchlist.mockRejectedValue(new ApiError(403, 'watchlist_limit_reached', 'Your Free plan allows 5 stocks.'));
    renderWithProviders(<DashboardPage />);
    expect(await screen.findByTestId('upgrade-prompt')).toHaveTextContent('Upgrade to Pro to track up to 10 stocks');
    expect(screen.getByTestId('watchlist-counter')).toHaveTextContent('5 / 5');

    const user = userEvent.setup();
    await user.type(screen.getByRole('combobox'), 'XOM');
    await screen.findByTestId('search-option-XOM');
    await user.keyboard('{Enter}');
    expect(await screen.findByTestId('toast-error')).toHaveTextContent('Your Free plan allows 5 stocks.');
    expect(api.addToWatchlist.mock.calls[0]?.[0]).toBe('XOM');
  });

  it('removes a stock optimistically', async () => {
    api.getWatchlist.mockResolvedValueOnce(watchlistOf(['AAPL', 'MSFT'])).mockResolvedValue(watchlistOf(['MSFT']));
    api.getDashboard.mockResolvedValue({ data: [], count: 2, max_stocks: 5 });
    api.removeFromWatchlist.mockResolvedValue(undefined);
    renderWithProviders(<DashboardPage />);
    await userEvent.click(await screen.findByRole('button', { name: 'Remove AAPL from watchlist' }));
    await waitFor(() => expect(screen.queryByTestId('stock-row-AAPL')).toBeNull());
    expect(api.removeFromWatchlist.mock.calls[0]?.[0]).toBe('AAPL');
  });
});

describe('PlansPage', () => {
  it('marks the current plan and shows the server 409 message on a refused change', async () => {
    api.changeTier.mockRejectedValue(new ApiError(409, 'watchlist_over_limit', 'Remove 2 stocks before switching to Free.'));
    renderWithProviders(<PlansPage />);
    const free = await screen.findByTestId('plan-free');
    expect(within(free).getByTestId('current-plan')).toBeInTheDocument();
    const user = userEvent.setup();
    await user.click(screen.getByTestId('choose-plan-pro'));
    expect(await screen.findByTestId('plan-error')).toHaveTextContent('Remove 2 stocks before switching to Free.');
    expect(api.changeTier.mock.calls[0]?.[0]).toBe('pro');
    expect(screen.getByTestId('choose-plan-expert')).toHaveTextContent('Upgrade to Expert');
  });
});

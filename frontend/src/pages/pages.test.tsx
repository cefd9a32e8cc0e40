import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import type { Dashboard, Watchlist } from '../api/types';
import { makeAnalysis, makeDashboard, makeItem, makeStock, makeUser, makeWatchlist, TIER_LIST } from '../test/fixtures';
import { renderWithProviders } from '../test/utils';

const USER = makeUser();

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
  getStock: vi.fn(),
  getHistory: vi.fn(),
  getAnalysis: vi.fn(),
  getFundamentals: vi.fn(),
}));
vi.mock('../api/endpoints', async (orig) => ({ ...(await orig<object>()), ...api }));

const { default: DashboardPage } = await import('./DashboardPage');
const { default: PlansPage } = await import('./PlansPage');
const { default: StockPage } = await import('./StockPage');
const { Route, Routes } = await import('react-router-dom');

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

beforeEach(() => {
  Object.values(api).forEach((f) => f.mockReset());
  api.getTiers.mockResolvedValue(TIER_LIST);
});

describe('DashboardPage', () => {
  it('shows the empty state and the counter', async () => {
    api.getWatchlist.mockResolvedValue(makeWatchlist([]));
    api.getDashboard.mockResolvedValue({ data: [], count: 0, max_stocks: 5 });
    renderWithProviders(<DashboardPage />);
    expect(await screen.findByTestId('empty-watchlist')).toBeInTheDocument();
    expect(screen.getByTestId('watchlist-counter')).toHaveTextContent('0 / 5');
    expect(screen.queryByTestId('upgrade-prompt')).toBeNull();
  });

  it('paints cards from /watchlist before /dashboard answers, then fills them in', async () => {
    const dash = deferred<Dashboard>();
    api.getWatchlist.mockResolvedValue(makeWatchlist(['AAPL', 'MSFT']));
    api.getDashboard.mockReturnValue(dash.promise);
    renderWithProviders(<DashboardPage />);
    const row = await screen.findByTestId('stock-row-AAPL');
    expect(row).toHaveAttribute('data-loaded', 'false');
    expect(screen.getByTestId('stock-row-MSFT')).toBeInTheDocument();

    dash.resolve({ count: 2, max_stocks: 5, data: ['AAPL', 'MSFT'].map((symbol) => makeItem(symbol)) });
    await waitFor(() => expect(screen.getByTestId('stock-row-AAPL')).toHaveAttribute('data-loaded', 'true'));
    expect(within(screen.getByTestId('stock-row-MSFT')).getByTestId('consensus-score')).toHaveTextContent('70');
  });

  it('requests /watchlist and /dashboard at once', async () => {
    const wl = deferred<Watchlist>();
    const dash = deferred<Dashboard>();
    api.getWatchlist.mockReturnValue(wl.promise);
    api.getDashboard.mockReturnValue(dash.promise);
    renderWithProviders(<DashboardPage />);
    await waitFor(() => expect(api.getDashboard).toHaveBeenCalledTimes(1));
    expect(api.getWatchlist).toHaveBeenCalledTimes(1);
    wl.resolve(makeWatchlist(['AAPL']));
    dash.resolve({ count: 1, max_stocks: 5, data: [makeItem('AAPL')] });
    await waitFor(() => expect(screen.getByTestId('stock-row-AAPL')).toHaveAttribute('data-loaded', 'true'));
  });

  it("shows a row's own error, 'no price data' for a missing price, and the analyst legend", async () => {
    api.getWatchlist.mockResolvedValue(makeWatchlist(['AAPL', 'ZZZ']));
    api.getDashboard.mockResolvedValue({
      count: 2,
      max_stocks: 5,
      data: [
        makeItem('AAPL', { error: 'Analysis unavailable: no fundamentals for AAPL.' }),
        makeItem('ZZZ', { quote: null, analysis: null, sparkline: [] }),
      ],
    });
    renderWithProviders(<DashboardPage />);
    const aapl = await screen.findByTestId('stock-row-AAPL');
    await waitFor(() => expect(aapl).toHaveAttribute('data-loaded', 'true'));
    expect(within(aapl).getByTestId('row-error')).toHaveTextContent('Analysis unavailable: no fundamentals for AAPL.');
    const zzz = screen.getByTestId('stock-row-ZZZ');
    expect(within(zzz).getByTestId('no-price')).toHaveTextContent('No price data');
    expect(within(zzz).getByTestId('sparkline-empty')).toHaveTextContent('no price data');
    expect(within(zzz).queryByTestId('row-error')).toBeNull();
    const legend = screen.getByTestId('analyst-legend');
    expect(legend).toHaveTextContent('BA Basic');
    expect(legend).toHaveTextContent('DCF Discounted cash flow');
  });

  it('shows the upgrade prompt when full and the server message when adding is refused', async () => {
    const five = ['AAPL', 'MSFT', 'KO', 'JNJ', 'JPM'];
    api.getWatchlist.mockResolvedValue(makeWatchlist(five));
    api.getDashboard.mockResolvedValue({ data: [], count: 5, max_stocks: 5 });
    api.searchStocks.mockResolvedValue([{ symbol: 'XOM', name: 'Exxon Mobil' }]);
    api.addToWatchlist.mockRejectedValue(new ApiError(403, 'watchlist_limit_reached', 'Your Free plan allows 5 stocks.'));
    renderWithProviders(<DashboardPage />);
    expect(await screen.findByTestId('upgrade-prompt')).toHaveTextContent('Upgrade to Pro to track up to 10 stocks');
    expect(screen.getByTestId('watchlist-counter')).toHaveTextContent('5 / 5');

    const user = userEvent.setup();
    await user.type(screen.getByRole('combobox', { name: /search stocks/i }), 'XOM');
    await screen.findByTestId('search-option-XOM');
    await user.keyboard('{Enter}');
    expect(await screen.findByTestId('toast-error')).toHaveTextContent('Your watchlist is full (5 / 5). Upgrade to Pro');
    expect(api.addToWatchlist.mock.calls[0]?.[0]).toBe('XOM');
  });

  it('marks stocks already on the list in search and does not add them again', async () => {
    api.getWatchlist.mockResolvedValue(makeWatchlist(['AAPL']));
    api.getDashboard.mockResolvedValue({ data: [], count: 1, max_stocks: 5 });
    api.searchStocks.mockResolvedValue([{ symbol: 'AAPL', name: 'Apple Inc.' }]);
    renderWithProviders(<DashboardPage />);
    const user = userEvent.setup();
    await user.type(await screen.findByRole('combobox', { name: /search stocks/i }), 'AAPL');
    expect(await screen.findByTestId('search-tracked')).toHaveTextContent('on your list');
    await user.keyboard('{ArrowDown}{Enter}');
    expect(await screen.findByTestId('toast-info')).toHaveTextContent('AAPL is already on your watchlist');
    expect(api.addToWatchlist).not.toHaveBeenCalled();
  });

  it('sorts by a column header, filters by text and by signal', async () => {
    const syms = ['AAPL', 'MSFT', 'KO'];
    api.getWatchlist.mockResolvedValue(makeWatchlist(syms));
    api.getDashboard.mockResolvedValue(makeDashboard(syms));
    renderWithProviders(<DashboardPage />);
    await waitFor(() => expect(screen.getByTestId('watchlist')).toHaveAttribute('data-scored', '3'));
    const order = () => screen.getAllByTestId(/^stock-row-/).map((r) => r.dataset.testid?.replace('stock-row-', ''));
    expect(order()).toEqual(syms);
    const user = userEvent.setup();
    await user.click(screen.getByTestId('sort-symbol'));
    expect(order()).toEqual(['AAPL', 'KO', 'MSFT']);
    expect(screen.getByTestId('sort-symbol').closest('[role="columnheader"]')).toHaveAttribute('aria-sort', 'ascending');
    await user.click(screen.getByTestId('sort-symbol'));
    expect(order()).toEqual(['MSFT', 'KO', 'AAPL']);
    await user.type(screen.getByTestId('watchlist-filter'), 'ms');
    expect(order()).toEqual(['MSFT']);
    await user.clear(screen.getByTestId('watchlist-filter'));
    await user.selectOptions(screen.getByTestId('signal-filter'), 'not_rated');
    expect(screen.getByTestId('filter-empty')).toBeInTheDocument();
    localStorage.clear();
  });

  it('moves rows in your own order and keeps it', async () => {
    const syms = ['AAPL', 'MSFT', 'KO'];
    api.getWatchlist.mockResolvedValue(makeWatchlist(syms));
    api.getDashboard.mockResolvedValue(makeDashboard(syms));
    renderWithProviders(<DashboardPage />);
    await screen.findByTestId('stock-row-KO');
    const order = () => screen.getAllByTestId(/^stock-row-/).map((r) => r.dataset.testid?.replace('stock-row-', ''));
    expect(screen.getByRole('button', { name: 'Move AAPL up' })).toBeDisabled();
    await userEvent.click(screen.getByRole('button', { name: 'Move KO up' }));
    expect(order()).toEqual(['AAPL', 'KO', 'MSFT']);
    expect(JSON.parse(localStorage.getItem('stockdash.order.') ?? '[]')).toEqual(['AAPL', 'KO', 'MSFT']);
    // Sorted by a column, rows are not movable.
    await userEvent.click(screen.getByTestId('sort-symbol'));
    expect(screen.queryByRole('button', { name: 'Move KO up' })).toBeNull();
    localStorage.clear();
  });

  it('offers Undo after a removal, which adds the stock back', async () => {
    api.getWatchlist.mockResolvedValueOnce(makeWatchlist(['AAPL', 'MSFT'])).mockResolvedValue(makeWatchlist(['MSFT']));
    api.getDashboard.mockResolvedValue({ data: [], count: 2, max_stocks: 5 });
    api.removeFromWatchlist.mockResolvedValue(undefined);
    api.addToWatchlist.mockResolvedValue(makeWatchlist(['AAPL']).data[0]);
    renderWithProviders(<DashboardPage />);
    await userEvent.click(await screen.findByRole('button', { name: 'Remove AAPL from watchlist' }));
    expect(await screen.findByTestId('toast-info')).toHaveTextContent('Removed AAPL');
    await userEvent.click(screen.getByTestId('toast-action'));
    await waitFor(() => expect(api.addToWatchlist.mock.calls[0]?.[0]).toBe('AAPL'));
  });

  it('says the request failed (not "no data") and retries', async () => {
    api.getWatchlist.mockResolvedValue(makeWatchlist(['AAPL']));
    api.getDashboard.mockRejectedValueOnce(new ApiError(503, 'service_unavailable', 'db down: raw text')).mockResolvedValue(makeDashboard(['AAPL']));
    renderWithProviders(<DashboardPage />);
    const alert = await screen.findByTestId('dashboard-error', undefined, { timeout: 5000 });
    expect(alert).toHaveTextContent('could not be loaded');
    expect(alert).not.toHaveTextContent('raw text');
    expect(screen.getByTestId('row-unavailable')).toBeInTheDocument();
    expect(screen.queryByTestId('no-price')).toBeNull();
    await userEvent.click(within(alert).getByRole('button', { name: 'Retry' }));
    await waitFor(() => expect(screen.getByTestId('stock-row-AAPL')).toHaveAttribute('data-loaded', 'true'));
    expect(screen.queryByTestId('dashboard-error')).toBeNull();
  });

  it('removes a stock optimistically', async () => {
    api.getWatchlist.mockResolvedValueOnce(makeWatchlist(['AAPL', 'MSFT'])).mockResolvedValue(makeWatchlist(['MSFT']));
    api.getDashboard.mockResolvedValue({ data: [], count: 2, max_stocks: 5 });
    api.removeFromWatchlist.mockResolvedValue(undefined);
    renderWithProviders(<DashboardPage />);
    await userEvent.click(await screen.findByRole('button', { name: 'Remove AAPL from watchlist' }));
    await waitFor(() => expect(screen.queryByTestId('stock-row-AAPL')).toBeNull());
    expect(api.removeFromWatchlist.mock.calls[0]?.[0]).toBe('AAPL');
  });
});

describe('PlansPage', () => {
  it('shows each tier as the server describes it: description, limit, analysts; no invented prices', async () => {
    renderWithProviders(<PlansPage />);
    const pro = await screen.findByTestId('plan-pro');
    expect(within(pro).getByTestId('plan-description')).toHaveTextContent('Ten stocks and the Buffett and Lynch analysts.');
    expect(pro).toHaveTextContent('10 stocks on your watchlist');
    expect(within(pro).getByLabelText('Warren Buffett')).toBeInTheDocument();
    expect(within(pro).getByLabelText('Discounted cash flow (not included)')).toBeInTheDocument();
    expect(screen.getByTestId('plans')).not.toHaveTextContent('$');
    expect(screen.getByTestId('plans')).not.toHaveTextContent('—');
  });

  it('marks the current plan and explains a refused downgrade from the 409 details', async () => {
    api.changeTier.mockRejectedValue(
      new ApiError(409, 'watchlist_exceeds_tier', 'ann tracks 7 stocks but the Pro plan allows 5: remove 2 stocks first.', {
        tracked: 7,
        max_stocks: 5,
        remove: 2,
      }),
    );
    renderWithProviders(<PlansPage />);
    const free = await screen.findByTestId('plan-free');
    expect(within(free).getByTestId('current-plan')).toBeInTheDocument();
    const user = userEvent.setup();
    await user.click(screen.getByTestId('choose-plan-pro'));
    const err = await screen.findByTestId('plan-error');
    expect(err).toHaveTextContent("Can't switch to Pro yet");
    expect(err).toHaveTextContent('You track 7 stocks and the Pro plan allows 5. Remove 2 stocks from your dashboard first');
    expect(err).not.toHaveTextContent('ann tracks');
    expect(api.changeTier.mock.calls[0]?.[0]).toBe('pro');
    expect(screen.getByTestId('choose-plan-expert')).toHaveTextContent('Upgrade to Expert');
  });

  it("shows the server's message for any other refusal", async () => {
    api.changeTier.mockRejectedValue(new ApiError(402, 'payment_required', 'The payment for this plan was not approved.'));
    renderWithProviders(<PlansPage />);
    await userEvent.click(await screen.findByTestId('choose-plan-expert'));
    expect(await screen.findByTestId('plan-error')).toHaveTextContent('The payment for this plan was not approved.');
  });
});

describe('StockPage', () => {
  const pending = () => new Promise<never>(() => {});
  const renderStock = () =>
    renderWithProviders(
      <Routes>
        <Route path="/stocks/:symbol" element={<StockPage />} />
      </Routes>,
      { route: '/stocks/ZZZ' },
    );

  it('shows only the key stats the data has (no dashes)', async () => {
    api.getStock.mockResolvedValue(makeStock('ZZZ', { market_cap: 2.5e12, pe_ratio: 30.25, volume: null, week52_high: 120 }));
    api.getHistory.mockReturnValue(pending());
    api.getAnalysis.mockReturnValue(pending());
    api.getFundamentals.mockReturnValue(pending());
    renderStock();
    const stats = await screen.findByTestId('key-stats');
    expect(stats).toHaveTextContent('Market cap$2.50T');
    expect(stats).toHaveTextContent('P/E (trailing 12 months)30.25');
    expect(stats).toHaveTextContent('52-week high$120.00');
    expect(stats).not.toHaveTextContent('Volume');
    expect(stats).not.toHaveTextContent('—');
    expect(screen.getByTestId('stock-price')).toHaveTextContent('$10.00');
  });

  it('says "No price data" when the quote has no price', async () => {
    api.getStock.mockResolvedValue(makeStock('ZZZ', { price: null, price_note: 'No close in the last 5 trading days.', change: null, change_percent: null }));
    api.getHistory.mockResolvedValue({ symbol: 'ZZZ', source: 'snapshot', range: '1y', bars: [] });
    api.getAnalysis.mockReturnValue(pending());
    api.getFundamentals.mockReturnValue(pending());
    renderStock();
    expect(await screen.findByTestId('stock-no-price')).toHaveTextContent('No price data');
    expect(screen.getByTestId('price-note')).toHaveTextContent('No close in the last 5 trading days.');
    expect(screen.queryByTestId('stock-price')).toBeNull();
    expect(await screen.findByText('No price history available.')).toBeInTheDocument();
  });
});

describe('StockPage DCF assumptions', () => {
  it('starts from the model values, keeps overrides in the address, and the consensus follows them', async () => {
    const dcf = makeAnalysis('AAPL', { basic: 70, dcf_math: 40 });
    const dcfResult = dcf.analyses.dcf_math as NonNullable<(typeof dcf.analyses)['dcf_math']>;
    dcfResult.factors = [
      { name: 'Discount rate', value: 0.091, benchmark: null, points: 0, max_points: 0, explanation: 'The WACC.' },
      { name: 'Terminal growth', value: 0.025, benchmark: null, points: 0, max_points: 0, explanation: '' },
    ];
    api.getStock.mockResolvedValue(makeStock('AAPL'));
    api.getHistory.mockResolvedValue({ symbol: 'AAPL', range: '1y', bars: [], source: 'snapshot' });
    api.getFundamentals.mockResolvedValue({ symbol: 'AAPL', currency: 'USD', data: [], source: 'snapshot' });
    const withMine = makeAnalysis('AAPL', { basic: 70, dcf_math: 90 });
    api.getAnalysis.mockImplementation(async (_s: string, o?: object) => (o ? withMine : dcf));
    renderWithProviders(
      <Routes>
        <Route path="/stocks/:symbol" element={<StockPage />} />
      </Routes>,
      { route: '/stocks/AAPL?dcf_discount_rate=0.12' },
    );
    const rate = (await screen.findByTestId('dcf-discount_rate')) as HTMLInputElement;
    expect(rate.value).toBe('12');
    expect((screen.getByTestId('dcf-terminal_growth') as HTMLInputElement).value).toBe('2.5');
    expect(screen.getByText('model: 9.1%')).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId('stock-consensus')).toHaveTextContent('with your DCF assumptions'));
    expect(screen.getByTestId('stock-consensus-score')).toHaveTextContent(String(Math.round(withMine.consensus?.score ?? 0)));
  });
});

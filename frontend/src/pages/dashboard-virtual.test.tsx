import { act, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Dashboard, DashboardItem } from '../api/types';
import { makeAnalysis, makeDashboard, makeUser, makeWatchlist, TIER_LIST } from '../test/fixtures';
import { renderWithProviders } from '../test/utils';
import { queryKeys } from '../api/endpoints';
import { VIRTUALIZE_THRESHOLD } from '../lib/watchlist';

const USER = makeUser({ subscription_tier: 'expert', max_stocks: 20, allowed_models: ['basic', 'warren_buffett', 'peter_lynch', 'dcf_math'] });
vi.mock('../auth', () => ({
  useAuth: () => ({ token: 't', user: USER, userLoading: false, login: vi.fn(), logout: vi.fn() }),
}));

const api = vi.hoisted(() => ({ getWatchlist: vi.fn(), getDashboard: vi.fn(), getTiers: vi.fn() }));
vi.mock('../api/endpoints', async (orig) => ({ ...(await orig<object>()), ...api }));

// Counts StockRow renders: each render sorts its analysts' models exactly once.
const sortCalls = vi.hoisted(() => ({ n: 0 }));
vi.mock('../lib/models', async (orig) => {
  const real = await orig<typeof import('../lib/models')>();
  return {
    ...real,
    sortModels: <T extends string>(models: T[]) => {
      sortCalls.n += 1;
      return real.sortModels(models);
    },
  };
});

const { default: DashboardPage } = await import('./DashboardPage');

const SYMBOLS = Array.from({ length: 20 }, (_, i) => `S${String(i).padStart(2, '0')}`);
const ROW_PX = 92;

// jsdom has no layout: every element is a card's height, so the virtualiser can measure.
let heightSpy: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  Object.values(api).forEach((f) => f.mockReset());
  api.getTiers.mockResolvedValue(TIER_LIST);
  heightSpy = vi.spyOn(HTMLElement.prototype, 'offsetHeight', 'get').mockReturnValue(ROW_PX);
  window.scrollTo = vi.fn() as unknown as typeof window.scrollTo;
  window.innerHeight = 800;
  window.scrollY = 0;
});
afterEach(() => heightSpy.mockRestore());

const renderedRows = () => screen.queryAllByTestId(/^stock-row-/);

describe('dashboard virtualisation', () => {
  it(`renders every card up to ${VIRTUALIZE_THRESHOLD} stocks`, async () => {
    const symbols = SYMBOLS.slice(0, VIRTUALIZE_THRESHOLD);
    api.getWatchlist.mockResolvedValue(makeWatchlist(symbols, 20));
    api.getDashboard.mockResolvedValue(makeDashboard(symbols));
    renderWithProviders(<DashboardPage />);
    const list = await screen.findByTestId('watchlist');
    expect(list).toHaveAttribute('data-virtualized', 'false');
    expect(renderedRows()).toHaveLength(VIRTUALIZE_THRESHOLD);
  });

  it('mounts only the cards near the viewport for a full Expert watchlist, and the rest on scroll', async () => {
    api.getWatchlist.mockResolvedValue(makeWatchlist(SYMBOLS, 20));
    api.getDashboard.mockResolvedValue(makeDashboard(SYMBOLS));
    renderWithProviders(<DashboardPage />);
    const list = await screen.findByTestId('watchlist');
    expect(list).toHaveAttribute('data-virtualized', 'true');
    expect(list).toHaveAttribute('data-count', '20');
    await waitFor(() => expect(list).toHaveAttribute('data-scored', '20'));
    const first = renderedRows().map((r) => r.dataset.testid);
    expect(first[0]).toBe('stock-row-S00');
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(20);
    expect(screen.queryByTestId('stock-row-S19')).toBeNull();
    // The list reserves the full height so the page scrolls as if every card were there.
    expect(within(list).getAllByRole('rowgroup')[1]?.style.height).toBe(`${20 * ROW_PX}px`);

    await act(async () => {
      window.scrollY = 20 * ROW_PX;
      window.dispatchEvent(new Event('scroll'));
    });
    await waitFor(() => expect(screen.getByTestId('stock-row-S19')).toHaveAttribute('data-loaded', 'true'));
    expect(screen.queryByTestId('stock-row-S00')).toBeNull();
  });

  it('re-renders only the card whose data changed (memoised rows)', async () => {
    const symbols = SYMBOLS.slice(0, 8);
    api.getWatchlist.mockResolvedValue(makeWatchlist(symbols, 20));
    api.getDashboard.mockResolvedValue(makeDashboard(symbols));
    const { qc } = renderWithProviders(<DashboardPage />);
    await waitFor(() => expect(screen.getByTestId('watchlist')).toHaveAttribute('data-scored', '8'));
    await waitFor(() => expect(screen.getByTestId('stock-row-S07')).toHaveAttribute('data-loaded', 'true'));
    const before = sortCalls.n;
    act(() => {
      qc.setQueryData<Dashboard>(queryKeys.dashboard, (old) =>
        old
          ? {
              ...old,
              data: old.data.map((it): DashboardItem => (it.symbol === 'S03' ? { ...it, analysis: makeAnalysis('S03', { basic: 12 }) } : it)),
            }
          : old,
      );
    });
    await waitFor(() => expect(within(screen.getByTestId('stock-row-S03')).getByTestId('consensus-score')).toHaveTextContent('12'));
    expect(sortCalls.n - before).toBe(1);
  });
});

import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import type { AdminStats, AdminUserList, User } from '../api/types';
import { renderWithProviders } from '../test/utils';

const mkUser = (id: number, username: string, extra: Partial<User> = {}): User => ({
  id,
  username,
  email: `${username}@example.com`,
  subscription_tier: 'free',
  max_stocks: 5,
  allowed_models: ['basic'],
  role: 'user',
  is_active: true,
  email_verified: true,
  created_at: '2024-01-01T00:00:00Z',
  ...extra,
});

const auth = vi.hoisted(() => ({ user: undefined as User | undefined }));
vi.mock('../auth', () => ({
  useAuth: () => ({ token: 't', user: auth.user, userLoading: false, login: vi.fn(), logout: vi.fn() }),
}));

const api = vi.hoisted(() => ({
  adminListUsers: vi.fn(),
  adminUpdateUser: vi.fn(),
  adminStats: vi.fn(),
  adminAuditLog: vi.fn(),
}));
vi.mock('../api/endpoints', async (orig) => ({ ...(await orig<object>()), ...api }));

const { default: AdminPage } = await import('./AdminPage');

const STATS: AdminStats = {
  total_users: 3,
  active_users: 2,
  users_by_tier: { free: 2, pro: 1 },
  registrations_per_day: [
    { date: '2024-01-01', count: 1 },
    { date: '2024-01-02', count: 2 },
  ],
  conversions: 1,
  most_tracked: [{ symbol: 'AAPL', count: 3 }],
};
const ADMIN = mkUser(1, 'root', { role: 'admin' });
const list = (users: User[]): AdminUserList => ({ data: users, count: users.length, page: 1, size: 50 });

// jsdom has no layout: give the virtualised table's scroll box a size so it renders rows.
beforeAll(() => {
  Object.defineProperty(HTMLElement.prototype, 'clientHeight', { configurable: true, get: () => 560 });
  Object.defineProperty(HTMLElement.prototype, 'clientWidth', { configurable: true, get: () => 1000 });
});
afterAll(() => {
  // Drop the overrides: the getters on Element.prototype show through again.
  delete (HTMLElement.prototype as unknown as Record<string, unknown>).clientHeight;
  delete (HTMLElement.prototype as unknown as Record<string, unknown>).clientWidth;
});

beforeEach(() => {
  Object.values(api).forEach((f) => f.mockReset());
  auth.user = ADMIN;
  api.adminStats.mockResolvedValue(STATS);
  api.adminAuditLog.mockResolvedValue({ data: [], count: 0, page: 1, size: 20 });
  api.adminListUsers.mockResolvedValue(list([ADMIN, mkUser(2, 'ann'), mkUser(3, 'bob', { subscription_tier: 'pro' })]));
});

describe('AdminPage', () => {
  it('shows a 403 state to non-admins without calling the admin API', () => {
    auth.user = mkUser(2, 'ann');
    renderWithProviders(<AdminPage />);
    expect(screen.getByTestId('admin-forbidden')).toHaveTextContent(/admins only/);
    expect(api.adminListUsers).not.toHaveBeenCalled();
    expect(api.adminStats).not.toHaveBeenCalled();
  });

  it('shows the 403 state when the server refuses', async () => {
    api.adminStats.mockRejectedValue(new ApiError(403, 'forbidden', 'Admins only'));
    renderWithProviders(<AdminPage />);
    expect(await screen.findByTestId('admin-forbidden')).toBeInTheDocument();
  });

  it('renders stats and user rows', async () => {
    renderWithProviders(<AdminPage />);
    expect(await screen.findByTestId('stat-total-users')).toHaveTextContent('3');
    expect(screen.getByTestId('top-symbols')).toHaveTextContent('AAPL');
    expect(await screen.findByTestId('admin-user-row-ann')).toHaveTextContent('ann@example.com');
    expect(screen.getByTestId('admin-users-count')).toHaveTextContent('3 users');
  });

  it('turns search, tier and status filters into query params (and resets the page)', async () => {
    const user = userEvent.setup();
    renderWithProviders(<AdminPage />);
    await screen.findByTestId('admin-user-row-ann');
    expect(api.adminListUsers).toHaveBeenLastCalledWith({ q: '', tier: '', active: null, page: 1, size: 50 }, expect.anything());

    await user.selectOptions(screen.getByTestId('admin-filter-tier'), 'pro');
    await waitFor(() => expect(api.adminListUsers).toHaveBeenLastCalledWith(expect.objectContaining({ tier: 'pro', page: 1 }), expect.anything()));

    await user.selectOptions(screen.getByTestId('admin-filter-active'), 'false');
    await waitFor(() => expect(api.adminListUsers).toHaveBeenLastCalledWith(expect.objectContaining({ tier: 'pro', active: false }), expect.anything()));

    await user.type(screen.getByTestId('admin-search'), 'bo');
    await waitFor(() =>
      expect(api.adminListUsers).toHaveBeenLastCalledWith({ q: 'bo', tier: 'pro', active: false, page: 1, size: 50 }, expect.anything()),
    );
  });

  it('pages through results', async () => {
    const user = userEvent.setup();
    api.adminListUsers.mockImplementation(async (f: { page: number }) => ({ ...list([mkUser(10 + f.page, `u${f.page}`)]), count: 120, page: f.page }));
    renderWithProviders(<AdminPage />);
    await screen.findByTestId('admin-user-row-u1');
    expect(screen.getByTestId('admin-page-info')).toHaveTextContent('Page 1 of 3');
    await user.click(screen.getByTestId('admin-next'));
    await screen.findByTestId('admin-user-row-u2');
    expect(api.adminListUsers).toHaveBeenLastCalledWith(expect.objectContaining({ page: 2 }), expect.anything());
  });

  it('asks before a change and sends nothing when the admin cancels; no actions on their own row', async () => {
    const user = userEvent.setup();
    const confirm = vi.spyOn(window, 'confirm').mockReturnValue(false);
    renderWithProviders(<AdminPage />);
    const row = await screen.findByTestId('admin-user-row-ann');
    await user.click(within(row).getByTestId('admin-active-ann'));
    expect(confirm).toHaveBeenCalledWith(expect.stringMatching(/^Deactivate ann\?/));
    expect(api.adminUpdateUser).not.toHaveBeenCalled();
    const own = screen.getByTestId(`admin-user-row-${auth.user?.username ?? ''}`);
    expect(within(own).queryByRole('button')).toBeNull();
    expect(within(own).getByTestId('admin-self-note')).toBeInTheDocument();
    confirm.mockRestore();
  });

  it("changes a user inline and shows the server's 409 message in a toast", async () => {
    const user = userEvent.setup();
    vi.spyOn(window, 'confirm').mockReturnValue(true);
    api.adminUpdateUser.mockImplementation(async (id: number, body: object) => ({ ...mkUser(id, 'ann'), ...body }));
    renderWithProviders(<AdminPage />);
    const row = await screen.findByTestId('admin-user-row-ann');
    await user.click(within(row).getByTestId('admin-role-ann'));
    expect(api.adminUpdateUser).toHaveBeenCalledWith(2, { role: 'admin' });
    expect(await screen.findByTestId('toast-success')).toHaveTextContent('Updated ann');

    api.adminUpdateUser.mockRejectedValue(new ApiError(409, 'tier_below_watchlist', 'ann tracks 7 stocks; Free allows 5.'));
    await user.selectOptions(within(screen.getByTestId('admin-user-row-bob')).getByTestId('admin-tier-bob'), 'free');
    expect(api.adminUpdateUser).toHaveBeenLastCalledWith(3, { tier: 'free' });
    expect(await screen.findByTestId('toast-error')).toHaveTextContent('ann tracks 7 stocks; Free allows 5.');
  });
});

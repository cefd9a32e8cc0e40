import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { renderWithProviders } from '../test/utils';
import type { Alert } from '../api/types';

const api = vi.hoisted(() => ({
  listNotifications: vi.fn(),
  readNotification: vi.fn(),
  readAllNotifications: vi.fn(),
}));
vi.mock('../api/endpoints', async (orig) => ({ ...(await orig<object>()), ...api }));
const { NotificationsBell } = await import('./NotificationsBell');
const { describeAlert } = await import('./Alerts');

const note = (id: number, read: boolean) => ({
  id,
  kind: 'alert',
  symbol: 'AAPL',
  title: `AAPL rose to 15${id}.00`,
  body: 'AAPL is at or above your alert price 150.00.',
  data: {},
  created_at: '2026-12-03T20:00:00Z',
  read,
});

beforeEach(() => {
  api.listNotifications.mockReset();
  api.readAllNotifications.mockReset();
});

describe('NotificationsBell', () => {
  it('shows the unread count, lists the notifications and marks all read', async () => {
    api.listNotifications.mockResolvedValue({ data: [note(2, false), note(1, true)], count: 2, unread: 1, page: 1, size: 10 });
    api.readAllNotifications.mockResolvedValue(1);
    renderWithProviders(<NotificationsBell />);
    expect(await screen.findByTestId('bell-count')).toHaveTextContent('1');
    expect(screen.getByTestId('bell')).toHaveAccessibleName('Notifications, 1 unread');
    await userEvent.setup().click(screen.getByTestId('bell'));
    expect(await screen.findAllByTestId('bell-item')).toHaveLength(2);
    api.listNotifications.mockResolvedValue({ data: [note(2, true), note(1, true)], count: 2, unread: 0, page: 1, size: 10 });
    await userEvent.setup().click(screen.getByTestId('read-all'));
    await waitFor(() => expect(screen.queryByTestId('bell-count')).toBeNull());
    expect(api.readAllNotifications).toHaveBeenCalledOnce();
  });
});

describe('describeAlert', () => {
  const base: Alert = {
    id: 1,
    symbol: 'AAPL',
    kind: 'price_above',
    threshold: 150,
    model: null,
    enabled: true,
    armed: true,
    paused: false,
    created_at: '2026-12-03T20:00:00Z',
    last_fired_at: null,
  };
  it('reads each kind in words', () => {
    expect(describeAlert(base)).toBe('Price at or above 150');
    expect(describeAlert({ ...base, kind: 'daily_move', threshold: 3 })).toBe('Daily move beyond ±3%');
    expect(describeAlert({ ...base, kind: 'score_below', threshold: 40, model: 'consensus' })).toBe('consensus score at or below 40');
    expect(describeAlert({ ...base, kind: 'signal_change', threshold: null })).toBe('Consensus signal changes');
  });
});

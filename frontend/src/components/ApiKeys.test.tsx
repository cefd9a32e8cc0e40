import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiKey } from '../api/types';
import { renderWithProviders } from '../test/utils';

const api = vi.hoisted(() => ({ listApiKeys: vi.fn(), createApiKey: vi.fn(), deleteApiKey: vi.fn() }));
vi.mock('../api/endpoints', async (orig) => ({ ...(await orig<object>()), ...api }));

const { ApiKeysSection } = await import('./ApiKeys');

const SECRET = 'sdk_live_abcdef0123456789SECRET';
let keys: ApiKey[] = [];

beforeEach(() => {
  Object.values(api).forEach((f) => f.mockReset());
  keys = [];
  api.listApiKeys.mockImplementation(async () => ({ data: keys, count: keys.length }));
  api.createApiKey.mockImplementation(async (name: string) => {
    const k = { id: 7, name, prefix: 'sdk_live_abc', created_at: '2024-01-01T00:00:00Z', last_used_at: null };
    keys = [...keys, k];
    return { ...k, key: SECRET };
  });
  api.deleteApiKey.mockImplementation(async (id: number) => {
    keys = keys.filter((k) => k.id !== id);
  });
});

describe('ApiKeysSection', () => {
  it('shows a new key once, with a copy button and a warning, and lists only its prefix', async () => {
    const user = userEvent.setup();
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    renderWithProviders(<ApiKeysSection />);
    expect(await screen.findByTestId('api-keys-empty')).toBeInTheDocument();

    await user.type(screen.getByLabelText('Key name'), 'spreadsheet');
    await user.click(screen.getByTestId('api-key-create'));
    const box = await screen.findByTestId('api-key-secret');
    expect(api.createApiKey).toHaveBeenCalledWith('spreadsheet');
    expect(within(box).getByTestId('api-key-secret-value')).toHaveTextContent(SECRET);
    expect(box).toHaveTextContent(/will not be shown again/);

    await user.click(within(box).getByTestId('api-key-copy'));
    expect(writeText).toHaveBeenCalledWith(SECRET);
    expect(await screen.findByTestId('toast-success')).toHaveTextContent('Key copied');

    const row = await screen.findByTestId('api-key-row-7');
    expect(row).toHaveTextContent('sdk_live_abc');
    expect(row).not.toHaveTextContent(SECRET);

    await user.click(screen.getByTestId('api-key-done'));
    expect(screen.queryByTestId('api-key-secret')).toBeNull();
    expect(screen.queryByText(SECRET)).toBeNull();
    expect(screen.getByTestId('api-key-row-7')).toBeInTheDocument();
  });

  it('revokes a key after confirming', async () => {
    const user = userEvent.setup();
    keys = [{ id: 3, name: 'old', prefix: 'sdk_x', created_at: '2024-01-01T00:00:00Z', last_used_at: '2024-02-01T00:00:00Z' }];
    vi.spyOn(window, 'confirm').mockReturnValue(true);
    renderWithProviders(<ApiKeysSection />);
    await user.click(await screen.findByTestId('api-key-revoke-3'));
    expect(api.deleteApiKey).toHaveBeenCalledWith(3);
    await waitFor(() => expect(screen.queryByTestId('api-key-row-3')).toBeNull());
    expect(screen.getByTestId('api-keys-empty')).toBeInTheDocument();
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getRefreshToken, getToken, refreshAccessToken, setRefreshToken, setToken } from './client';

describe('refreshAccessToken', () => {
  beforeEach(() => {
    localStorage.clear();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('returns null without a refresh token and makes no call', async () => {
    const spy = vi.spyOn(globalThis, 'fetch');
    expect(await refreshAccessToken()).toBeNull();
    expect(spy).not.toHaveBeenCalled();
  });

  it('stores the rotated pair and shares one call between concurrent waiters', async () => {
    setToken('old-access');
    setRefreshToken('old-refresh');
    const spy = vi.spyOn(globalThis, 'fetch').mockResolvedValue(
      new Response(JSON.stringify({ access_token: 'new-access', refresh_token: 'new-refresh' }), { status: 200 }),
    );
    const [a, b] = await Promise.all([refreshAccessToken(), refreshAccessToken()]);
    expect(a).toBe('new-access');
    expect(b).toBe('new-access');
    expect(spy).toHaveBeenCalledTimes(1);
    expect(JSON.parse(String(spy.mock.calls[0]?.[1]?.body))).toEqual({ refresh_token: 'old-refresh' });
    expect(getToken()).toBe('new-access');
    expect(getRefreshToken()).toBe('new-refresh');
  });

  it('gives up when the server refuses the refresh token', async () => {
    setRefreshToken('spent');
    vi.spyOn(globalThis, 'fetch').mockResolvedValue(new Response('{}', { status: 401 }));
    expect(await refreshAccessToken()).toBeNull();
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';

describe('getDashboard', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.resetModules();
  });

  it('asks for the summary view (the cards show no factors)', async () => {
    const body = { data: [], count: 0, max_stocks: 5 };
    const fetchMock = vi.fn(async () => new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } }));
    // The typed client takes `fetch` when it is created: stub it, then load a fresh client.
    vi.stubGlobal('fetch', fetchMock);
    vi.resetModules();
    const { getDashboard } = await import('./endpoints');

    expect(await getDashboard()).toEqual(body);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const url = new URL((fetchMock.mock.calls[0] as unknown as [Request])[0].url);
    expect(url.pathname).toBe('/api/v1/dashboard');
    expect(url.searchParams.get('view')).toBe('summary');
  });
});

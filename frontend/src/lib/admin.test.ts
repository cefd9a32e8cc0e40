import { describe, expect, it } from 'vitest';
import { ADMIN_PAGE_SIZE, adminUserQuery, pageCount, parseActive } from './admin';
import { newPasswordError } from './password';

describe('adminUserQuery', () => {
  it('leaves blank filters out and always sends page and size', () => {
    expect(adminUserQuery({})).toEqual({ page: 1, size: ADMIN_PAGE_SIZE });
    expect(adminUserQuery({ q: '   ', tier: '', active: null })).toEqual({ page: 1, size: ADMIN_PAGE_SIZE });
  });

  it('maps every filter to its query param', () => {
    expect(adminUserQuery({ q: ' ann ', tier: 'pro', active: false, page: 3, size: 20 })).toEqual({
      q: 'ann',
      tier: 'pro',
      active: false,
      page: 3,
      size: 20,
    });
    expect(adminUserQuery({ active: true }).active).toBe(true);
  });

  it('clamps page and size to what the API accepts', () => {
    expect(adminUserQuery({ page: 0, size: 1000 })).toEqual({ page: 1, size: 100 });
    expect(adminUserQuery({ page: 2.7, size: 0 })).toEqual({ page: 2, size: 1 });
    expect(adminUserQuery({ q: 'x'.repeat(300) }).q).toHaveLength(254);
  });

  it('parses the status select and counts pages', () => {
    expect(parseActive('true')).toBe(true);
    expect(parseActive('false')).toBe(false);
    expect(parseActive('')).toBeNull();
    expect(pageCount(0, 50)).toBe(1);
    expect(pageCount(50, 50)).toBe(1);
    expect(pageCount(51, 50)).toBe(2);
  });
});

describe('newPasswordError', () => {
  it('requires 8..128 characters and a matching confirmation', () => {
    expect(newPasswordError('short', 'short')).toMatch(/at least 8/);
    expect(newPasswordError('x'.repeat(129), 'x'.repeat(129))).toMatch(/at most 128/);
    expect(newPasswordError('long-enough-1', 'long-enough-2')).toMatch(/do not match/);
    expect(newPasswordError('long-enough-1', 'long-enough-1')).toBeNull();
  });
});

import type { AdminUserFilters, Tier } from '../api/types';

export const ADMIN_PAGE_SIZE = 50;

export interface AdminUserQuery {
  q?: string;
  tier?: Tier;
  active?: boolean;
  page: number;
  size: number;
}

/** Table filters → `GET /admin/users` query params: blank filters are left out, page/size always sent. */
export function adminUserQuery(f: AdminUserFilters): AdminUserQuery {
  const out: AdminUserQuery = {
    page: Math.max(1, Math.floor(f.page ?? 1)),
    size: Math.min(100, Math.max(1, Math.floor(f.size ?? ADMIN_PAGE_SIZE))),
  };
  const q = f.q?.trim();
  if (q) out.q = q.slice(0, 254);
  if (f.tier) out.tier = f.tier;
  if (typeof f.active === 'boolean') out.active = f.active;
  return out;
}

/** The `active` filter select's value ('' | 'true' | 'false') → the filter. */
export function parseActive(v: string): boolean | null {
  return v === 'true' ? true : v === 'false' ? false : null;
}

export function pageCount(count: number, size: number): number {
  return Math.max(1, Math.ceil(count / Math.max(1, size)));
}

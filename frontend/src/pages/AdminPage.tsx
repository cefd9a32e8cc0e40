import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { ApiError, errorMessage } from '../api/client';
import { adminAuditLog, adminListUsers, adminStats, adminUpdateUser, queryKeys } from '../api/endpoints';
import type { AdminStats, AdminUserFilters, AdminUserList, AdminUserUpdate, Tier, User } from '../api/types';
import { useAuth } from '../auth';
import { Badge, Button, Card, EmptyState, PageLoader, Skeleton, TableWrap } from '../components/ui';
import { useDebouncedValue } from '../hooks';
import { ADMIN_PAGE_SIZE, pageCount, parseActive } from '../lib/admin';
import { formatDate, formatDateTime, formatNumber } from '../lib/format';
import { TIER_ORDER, tierName } from '../lib/models';
import { usePageTitle } from '../lib/pageTitle';
import { useToast } from '../toast';

function isForbidden(err: unknown): boolean {
  return err instanceof ApiError && err.status === 403;
}

export function AdminForbidden() {
  return (
    <EmptyState title="403 — admins only" data-testid="admin-forbidden" action={<Link to="/">Go to the dashboard</Link>}>
      The admin console is only open to administrator accounts. Ask an administrator if you need access.
    </EmptyState>
  );
}

export default function AdminPage() {
  usePageTitle('Admin');
  const { user } = useAuth();
  if (!user) return <PageLoader />;
  if (user.role !== 'admin') return <AdminForbidden />;
  return <AdminConsole selfId={user.id} />;
}

function AdminConsole({ selfId }: { selfId: User['id'] }) {
  const stats = useQuery({ queryKey: queryKeys.adminStats, queryFn: adminStats, meta: { silent: true } });
  if (isForbidden(stats.error)) return <AdminForbidden />;
  return (
    <div className="stack" data-testid="admin-page">
      <div className="page-head">
        <h1>Admin</h1>
      </div>
      <StatsPanel stats={stats.data} error={stats.error} />
      <UsersTable selfId={selfId} />
      <AuditLog />
    </div>
  );
}

function StatsPanel({ stats, error }: { stats: AdminStats | undefined; error: Error | null }) {
  if (error) return <Card><p className="muted">Could not load the stats: {errorMessage(error)}</p></Card>;
  if (!stats) {
    return (
      <div className="grid grid-3" aria-busy="true">
        {[0, 1, 2].map((i) => (
          <Card key={i}>
            <Skeleton height={56} />
          </Card>
        ))}
      </div>
    );
  }
  const tierMax = Math.max(1, ...TIER_ORDER.map((t) => stats.users_by_tier[t] ?? 0));
  const dayMax = Math.max(1, ...stats.registrations_per_day.map((d) => d.count));
  const symMax = Math.max(1, ...stats.most_tracked.map((s) => s.count));
  const registrations = stats.registrations_per_day.reduce((n, d) => n + d.count, 0);
  const paid = (stats.users_by_tier.pro ?? 0) + (stats.users_by_tier.expert ?? 0);
  return (
    <div className="stack" data-testid="admin-stats">
      <div className="grid grid-3">
        <Card>
          <div className="muted small">Users</div>
          <div className="stat-value num" data-testid="stat-total-users">{formatNumber(stats.total_users, 0)}</div>
          <div className="muted small">{formatNumber(stats.active_users, 0)} active</div>
        </Card>
        <Card>
          <div className="muted small">Paid plans</div>
          <div className="stat-value num">{formatNumber(paid, 0)}</div>
          <div className="muted small">{formatNumber(stats.conversions, 0)} {stats.conversions === 1 ? 'upgrade' : 'upgrades'} from Free</div>
        </Card>
        <Card>
          <div className="muted small">New sign-ups</div>
          <div className="stat-value num">{formatNumber(registrations, 0)}</div>
          <div className="muted small">in the last {stats.registrations_per_day.length} days</div>
        </Card>
      </div>
      <div className="grid grid-3">
        <Card aria-labelledby="by-tier-title">
          <h2 id="by-tier-title">Users by plan</h2>
          <div className="bars">
            {TIER_ORDER.map((t) => {
              const n = stats.users_by_tier[t] ?? 0;
              return (
                <div className="bar-row" key={t}>
                  <span>{tierName(t)}</span>
                  <span className="bar-track">
                    <span className="bar-fill" style={{ left: 0, width: `${(n / tierMax) * 100}%`, background: 'var(--primary)' }} />
                  </span>
                  <span className="num">{formatNumber(n, 0)}</span>
                </div>
              );
            })}
          </div>
        </Card>
        <Card aria-labelledby="by-day-title">
          <h2 id="by-day-title">Registrations per day</h2>
          {stats.registrations_per_day.length ? (
            <>
              <div className="day-chart" role="img" aria-label={`${registrations} registrations over ${stats.registrations_per_day.length} days`}>
                {stats.registrations_per_day.map((d) => (
                  <span key={d.date} title={`${formatDate(d.date)}: ${d.count}`} style={{ height: `${Math.max(2, (d.count / dayMax) * 100)}%`, opacity: d.count ? 1 : 0.25 }} />
                ))}
              </div>
              <div className="row small muted" style={{ justifyContent: 'space-between' }}>
                <span>{formatDate(stats.registrations_per_day[0]?.date)}</span>
                <span>{formatDate(stats.registrations_per_day.at(-1)?.date)}</span>
              </div>
            </>
          ) : (
            <p className="muted small">No sign-ups yet.</p>
          )}
        </Card>
        <Card aria-labelledby="top-symbols-title">
          <h2 id="top-symbols-title">Most tracked</h2>
          {stats.most_tracked.length ? (
            <div className="bars" data-testid="top-symbols">
              {stats.most_tracked.slice(0, 8).map((s) => (
                <div className="bar-row" key={s.symbol}>
                  <Link to={`/stocks/${encodeURIComponent(s.symbol)}`}>{s.symbol}</Link>
                  <span className="bar-track">
                    <span className="bar-fill" style={{ left: 0, width: `${(s.count / symMax) * 100}%`, background: 'var(--positive)' }} />
                  </span>
                  <span className="num">{formatNumber(s.count, 0)}</span>
                </div>
              ))}
            </div>
          ) : (
            <p className="muted small">No watchlists yet.</p>
          )}
        </Card>
      </div>
    </div>
  );
}

export function UsersTable({ selfId }: { selfId: User['id'] }) {
  const qc = useQueryClient();
  const { push } = useToast();
  const [q, setQ] = useState('');
  const [tier, setTier] = useState<Tier | ''>('');
  const [active, setActive] = useState<boolean | null>(null);
  const [page, setPage] = useState(1);
  const debouncedQ = useDebouncedValue(q, 300);
  const filters: AdminUserFilters = { q: debouncedQ, tier, active, page, size: ADMIN_PAGE_SIZE };

  const users = useQuery({
    queryKey: queryKeys.adminUsers(filters),
    queryFn: ({ signal }) => adminListUsers(filters, signal),
    placeholderData: keepPreviousData,
    meta: { silent: true },
  });

  const update = useMutation({
    mutationFn: ({ id, body }: { id: number; body: AdminUserUpdate }) => adminUpdateUser(id, body),
    meta: { silent: true },
    onSuccess: (updated) => {
      qc.setQueriesData<AdminUserList>({ queryKey: ['admin', 'users'] }, (old) =>
        old ? { ...old, data: old.data.map((u) => (u.id === updated.id ? updated : u)) } : old,
      );
      void qc.invalidateQueries({ queryKey: ['admin'] });
      if (updated.id === selfId) void qc.invalidateQueries({ queryKey: queryKeys.me });
      push(`Updated ${updated.username}`, 'success');
    },
    // 409s (own role/status, tier below the watchlist size) carry the reason: show it.
    onError: (err) => push(errorMessage(err), 'error'),
  });

  const rows = users.data?.data ?? [];
  const count = users.data?.count ?? 0;
  const pages = pageCount(count, users.data?.size ?? ADMIN_PAGE_SIZE);

  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 46,
    overscan: 10,
  });

  const pendingId = update.isPending ? update.variables.id : undefined;
  // Every admin change is confirmed first: they act on someone else's account at once.
  const change = (u: User, body: AdminUserUpdate) => {
    if (window.confirm(confirmText(u, body))) update.mutate({ id: Number(u.id), body });
  };

  if (isForbidden(users.error)) return <AdminForbidden />;

  return (
    <Card aria-labelledby="users-title" data-testid="admin-users">
      <div className="card-title">
        <h2 id="users-title">Users</h2>
        <span className="muted small" data-testid="admin-users-count">
          {users.data ? `${formatNumber(count, 0)} ${count === 1 ? 'user' : 'users'}` : ''}
        </span>
      </div>
      <div className="admin-filters" role="search">
        <div className="field grow">
          <label htmlFor="admin-q">Search</label>
          <input
            id="admin-q"
            className="input"
            type="search"
            placeholder="Username or email"
            maxLength={254}
            value={q}
            onChange={(e) => {
              setQ(e.target.value);
              setPage(1);
            }}
            data-testid="admin-search"
          />
        </div>
        <div className="field">
          <label htmlFor="admin-tier">Plan</label>
          <select
            id="admin-tier"
            className="select input"
            value={tier}
            onChange={(e) => {
              setTier(e.target.value as Tier | '');
              setPage(1);
            }}
            data-testid="admin-filter-tier"
          >
            <option value="">All plans</option>
            {TIER_ORDER.map((t) => (
              <option key={t} value={t}>
                {tierName(t)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="admin-active">Status</label>
          <select
            id="admin-active"
            className="select input"
            value={active === null ? '' : String(active)}
            onChange={(e) => {
              setActive(parseActive(e.target.value));
              setPage(1);
            }}
            data-testid="admin-filter-active"
          >
            <option value="">Any status</option>
            <option value="true">Active</option>
            <option value="false">Deactivated</option>
          </select>
        </div>
      </div>
      {users.isError ? (
        <p className="muted">Could not load users: {errorMessage(users.error)}</p>
      ) : users.isPending ? (
        <Skeleton height={200} />
      ) : rows.length === 0 ? (
        <p className="muted" data-testid="admin-users-empty">
          No users match these filters.
        </p>
      ) : (
        <div className="vtable-scroll" ref={scrollRef} data-testid="admin-users-scroll" aria-busy={users.isFetching || undefined}>
          <div className="vtable" role="table" aria-label="Users" aria-rowcount={rows.length + 1}>
            <div className="vtable-row vtable-head" role="row">
              <div role="columnheader">Username</div>
              <div role="columnheader">Email</div>
              <div role="columnheader">Plan</div>
              <div role="columnheader">Role</div>
              <div role="columnheader">Status</div>
              <div role="columnheader">Joined</div>
              <div role="columnheader">Actions</div>
            </div>
            <div role="rowgroup" style={{ position: 'relative', height: virtualizer.getTotalSize() }}>
              {virtualizer.getVirtualItems().map((v) => {
                const u = rows[v.index] as User;
                const self = u.id === selfId;
                const busy = pendingId === Number(u.id);
                return (
                  <div
                    key={u.id}
                    role="row"
                    aria-rowindex={v.index + 2}
                    className="vtable-row"
                    data-index={v.index}
                    ref={virtualizer.measureElement}
                    data-testid={`admin-user-row-${u.username}`}
                    style={{ position: 'absolute', top: 0, left: 0, right: 0, transform: `translateY(${v.start}px)` }}
                  >
                    <div role="cell" title={u.username}>
                      <strong>{u.username}</strong>
                      {self ? <span className="muted small"> (you)</span> : null}
                    </div>
                    <div role="cell" title={u.email}>
                      {u.email} {u.email_verified ? null : <Badge>unverified</Badge>}
                    </div>
                    <div role="cell">
                      <select
                        className="select"
                        aria-label={`Plan for ${u.username}`}
                        value={u.subscription_tier}
                        disabled={busy}
                        onChange={(e) => change(u, { tier: e.target.value as Tier })}
                        data-testid={`admin-tier-${u.username}`}
                      >
                        {TIER_ORDER.map((t) => (
                          <option key={t} value={t}>
                            {tierName(t)}
                          </option>
                        ))}
                      </select>
                    </div>
                    <div role="cell">
                      {u.role === 'admin' ? <Badge tone="info">admin</Badge> : <span className="muted">user</span>}
                    </div>
                    <div role="cell">
                      {u.is_active ? <Badge tone="positive">active</Badge> : <Badge tone="negative">deactivated</Badge>}
                    </div>
                    <div role="cell">{formatDate(u.created_at)}</div>
                    <div role="cell" className="actions">
                      {self ? (
                        // The server refuses changing your own role or status: don't offer it.
                        <span className="muted small" data-testid="admin-self-note">
                          Your own role and status are changed by another admin
                        </span>
                      ) : (
                        <>
                          <Button
                            size="sm"
                            disabled={busy}
                            onClick={() => change(u, { role: u.role === 'admin' ? 'user' : 'admin' })}
                            data-testid={`admin-role-${u.username}`}
                          >
                            {u.role === 'admin' ? 'Make user' : 'Make admin'}
                          </Button>
                          <Button
                            size="sm"
                            variant={u.is_active ? 'danger' : 'default'}
                            disabled={busy}
                            onClick={() => change(u, { is_active: !u.is_active })}
                            data-testid={`admin-active-${u.username}`}
                          >
                            {u.is_active ? 'Deactivate' : 'Activate'}
                          </Button>
                        </>
                      )}
                    </div>
                  </div>
                );
              })}
            </div>
          </div>
        </div>
      )}
      <div className="pager">
        <span className="muted small" data-testid="admin-page-info">
          Page {users.data?.page ?? page} of {pages}
        </span>
        <Button size="sm" disabled={page <= 1} onClick={() => setPage((p) => Math.max(1, p - 1))} data-testid="admin-prev">
          Previous
        </Button>
        <Button size="sm" disabled={page >= pages || users.isPlaceholderData} onClick={() => setPage((p) => p + 1)} data-testid="admin-next">
          Next
        </Button>
      </div>
    </Card>
  );
}

/** The question asked before an admin change is sent. */
export function confirmText(u: Pick<User, 'username' | 'subscription_tier' | 'role'>, body: AdminUserUpdate): string {
  if (body.tier) return `Change ${u.username}'s plan from ${tierName(u.subscription_tier)} to ${tierName(body.tier)}?`;
  if (body.role) return `Make ${u.username} ${body.role === 'admin' ? 'an administrator' : 'a normal user'}?`;
  if (body.is_active === false) return `Deactivate ${u.username}? They are signed out at once and cannot log in until reactivated.`;
  if (body.is_active === true) return `Reactivate ${u.username}?`;
  return `Update ${u.username}?`;
}

const AUDIT_PAGE_SIZE = 20;

/** The admin audit log, newest first: who changed what, when. */
function AuditLog() {
  const [page, setPage] = useState(1);
  const log = useQuery({
    queryKey: ['admin', 'audit', page],
    queryFn: () => adminAuditLog(page, AUDIT_PAGE_SIZE),
    placeholderData: keepPreviousData,
    meta: { silent: true },
  });
  const pages = pageCount(log.data?.count ?? 0, AUDIT_PAGE_SIZE);
  return (
    <Card aria-labelledby="audit-title" data-testid="admin-audit">
      <div className="card-title">
        <h2 id="audit-title">Audit log</h2>
        <span className="muted small">{log.data ? `${formatNumber(log.data.count, 0)} entries` : ''}</span>
      </div>
      {log.isError ? (
        <p className="muted">Could not load the audit log: {errorMessage(log.error)}</p>
      ) : !log.data ? (
        <Skeleton height={120} />
      ) : log.data.data.length === 0 ? (
        <p className="muted" data-testid="admin-audit-empty">
          No administrative actions yet.
        </p>
      ) : (
        <TableWrap label="Audit log entries">
          <table className="table" data-testid="admin-audit-table">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Admin</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {log.data.data.map((e) => (
                <tr key={e.id}>
                  <td>{formatDateTime(e.created_at)}</td>
                  <td>{e.actor_user_id === null ? 'system' : `#${e.actor_user_id}`}</td>
                  <td>{e.action.replace(/_/g, ' ')}</td>
                  <td>
                    {e.target_type} #{e.target_id}
                  </td>
                  <td className="small">
                    {Object.entries(e.details)
                      .map(([k, v]) => `${k.replace(/_/g, ' ')}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
                      .join(' · ')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {pages > 1 ? (
        <div className="pager">
          <span className="muted small">
            Page {page} of {pages}
          </span>
          <Button size="sm" disabled={page <= 1} onClick={() => setPage((p) => Math.max(1, p - 1))}>
            Previous
          </Button>
          <Button size="sm" disabled={page >= pages || log.isPlaceholderData} onClick={() => setPage((p) => p + 1)}>
            Next
          </Button>
        </div>
      ) : null}
    </Card>
  );
}

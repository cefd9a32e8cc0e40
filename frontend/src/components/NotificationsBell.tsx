import { useEffect, useId, useRef, useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router-dom';
import { listNotifications, queryKeys, readAllNotifications, readNotification } from '../api/endpoints';
import type { AppNotification } from '../api/types';
import { formatDateTime } from '../lib/format';

/** The bell in the header: unread count, and a panel with the latest notifications. */
export function NotificationsBell() {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [open, setOpen] = useState(false);
  const panelId = useId();
  const wrap = useRef<HTMLDivElement>(null);
  const list = useQuery({ queryKey: queryKeys.notifications, queryFn: () => listNotifications(10), meta: { silent: true } });
  const refresh = () => void qc.invalidateQueries({ queryKey: queryKeys.notifications });
  const readOne = useMutation({ mutationFn: readNotification, meta: { silent: true }, onSettled: refresh });
  const readAll = useMutation({ mutationFn: readAllNotifications, meta: { silent: true }, onSettled: refresh });
  const unread = list.data?.unread ?? 0;

  useEffect(() => {
    if (!open) return undefined;
    const close = (e: MouseEvent | KeyboardEvent) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !wrap.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  const openOne = (n: AppNotification) => {
    if (!n.read) readOne.mutate(n.id);
    setOpen(false);
    if (n.symbol) navigate(`/stocks/${encodeURIComponent(n.symbol)}`);
  };

  return (
    <div className="bell-wrap" ref={wrap}>
      <button
        type="button"
        className="btn btn-sm bell"
        aria-expanded={open}
        aria-controls={panelId}
        aria-label={unread ? `Notifications, ${unread} unread` : 'Notifications'}
        data-testid="bell"
        onClick={() => setOpen((o) => !o)}
      >
        <BellIcon />
        {unread ? (
          <span className="bell-count num" data-testid="bell-count">
            {unread > 99 ? '99+' : unread}
          </span>
        ) : null}
      </button>
      {open ? (
        <div className="bell-panel card" id={panelId} role="region" aria-label="Notifications" data-testid="bell-panel">
          <div className="card-title">
            <h2 className="small" style={{ margin: 0 }}>
              Notifications
            </h2>
            {unread ? (
              <button type="button" className="btn btn-ghost btn-sm" onClick={() => readAll.mutate()} data-testid="read-all">
                Mark all read
              </button>
            ) : null}
          </div>
          {list.data && list.data.data.length === 0 ? (
            <p className="small muted">No notifications yet. Set alerts on a stock's page.</p>
          ) : null}
          <ul className="bell-list">
            {list.data?.data.map((n) => (
              <li key={n.id}>
                <button type="button" className={`bell-item${n.read ? '' : ' unread'}`} onClick={() => openOne(n)} data-testid="bell-item">
                  <span className="bell-title">{n.title}</span>
                  <span className="small muted">{n.body}</span>
                  <span className="small muted">{formatDateTime(n.created_at)}</span>
                </button>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </div>
  );
}

function BellIcon() {
  return (
    <svg width="16" height="16" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path
        fill="currentColor"
        d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
      />
    </svg>
  );
}

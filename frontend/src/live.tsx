import { createContext, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { ApiError } from './api/client';
import { getStreamToken, queryKeys } from './api/endpoints';
import { useToast } from './toast';

/** off: no stream (signed out, or the server has live updates turned off). */
export type LiveStatus = 'off' | 'connecting' | 'live' | 'reconnecting';

interface LiveCtx {
  status: LiveStatus;
  /** Symbols whose data just changed (highlighted for a moment). */
  flashed: ReadonlySet<string>;
}

const Ctx = createContext<LiveCtx>({ status: 'off', flashed: new Set() });
const FLASH_MS = 2500;
const MAX_RETRY_MS = 30_000;

interface SymbolUpdate {
  symbol: string;
  changed?: string[];
}

interface NotificationEvent {
  title: string;
  symbol?: string | null;
}

/**
 * The live stream (`GET /api/v1/events`, Server-Sent Events) while signed in: symbol updates
 * refresh the cached dashboard and stock data and highlight the symbol; notifications refresh
 * the bell and show a toast. The stream token is short-lived, so every reconnect fetches a new
 * one and resumes after the last event seen (`last_event_id`): nothing is missed or repeated.
 */
export function LiveProvider({ enabled, children }: { enabled: boolean; children: ReactNode }) {
  const qc = useQueryClient();
  const { push } = useToast();
  const [status, setStatus] = useState<LiveStatus>('off');
  const [flashed, setFlashed] = useState<ReadonlySet<string>>(new Set());
  const pushRef = useRef(push);
  pushRef.current = push;

  useEffect(() => {
    if (!enabled || typeof EventSource === 'undefined') {
      setStatus('off');
      return undefined;
    }
    let stopped = false;
    let source: EventSource | null = null;
    let lastId: string | null = null;
    let retryMs = 1000;
    let timer: number | undefined;
    let pending = new Set<string>();
    let flushTimer: number | undefined;

    const track = (e: MessageEvent) => {
      if (e.lastEventId) lastId = e.lastEventId;
    };
    // Many symbols change in one refresh: one round of refetches for all of them.
    const flush = () => {
      flushTimer = undefined;
      const symbols = pending;
      pending = new Set();
      void qc.invalidateQueries({ queryKey: queryKeys.dashboard });
      for (const s of symbols) {
        void qc.invalidateQueries({ queryKey: queryKeys.stock(s) });
        void qc.invalidateQueries({ queryKey: ['analysis', s] });
      }
      setFlashed((prev) => new Set([...prev, ...symbols]));
      window.setTimeout(() => {
        setFlashed((prev) => new Set([...prev].filter((s) => !symbols.has(s))));
      }, FLASH_MS);
    };
    const onUpdate = (e: MessageEvent) => {
      track(e);
      const data = JSON.parse(String(e.data)) as SymbolUpdate;
      pending.add(data.symbol);
      flushTimer ??= window.setTimeout(flush, 200);
    };
    const onNotification = (e: MessageEvent) => {
      track(e);
      const data = JSON.parse(String(e.data)) as NotificationEvent;
      pushRef.current(data.title, 'info');
      void qc.invalidateQueries({ queryKey: queryKeys.notifications });
      void qc.invalidateQueries({ queryKey: ['alerts'] });
    };
    const reconnect = () => {
      source?.close();
      source = null;
      if (stopped) return;
      setStatus('reconnecting');
      timer = window.setTimeout(() => void connect(), retryMs);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    };
    const connect = async () => {
      let token: string;
      try {
        token = await getStreamToken();
      } catch (err) {
        if (err instanceof ApiError && (err.status === 404 || err.status === 401)) {
          setStatus('off'); // live updates turned off on this server, or signed out
          return;
        }
        reconnect();
        return;
      }
      if (stopped) return;
      const resume = lastId ? `&last_event_id=${encodeURIComponent(lastId)}` : '';
      source = new EventSource(`/api/v1/events?token=${encodeURIComponent(token)}${resume}`);
      source.addEventListener('ready', (e) => {
        track(e as MessageEvent);
        retryMs = 1000;
        setStatus('live');
      });
      source.addEventListener('symbol.update', (e) => onUpdate(e as MessageEvent));
      source.addEventListener('notification', (e) => onNotification(e as MessageEvent));
      // Another tab (or device) changed the watchlist: show the same.
      source.addEventListener('watchlist.changed', (e) => {
        track(e as MessageEvent);
        void qc.invalidateQueries({ queryKey: queryKeys.watchlist });
        void qc.invalidateQueries({ queryKey: queryKeys.dashboard });
      });
      source.addEventListener('resync', () => void qc.invalidateQueries());
      source.addEventListener('revoked', () => {
        stopped = true;
        source?.close();
        setStatus('off');
      });
      // The browser would retry with the same (soon expired) token: reconnect with a new one.
      source.onerror = reconnect;
    };

    setStatus('connecting');
    void connect();
    return () => {
      stopped = true;
      source?.close();
      window.clearTimeout(timer);
      window.clearTimeout(flushTimer);
    };
  }, [enabled, qc]);

  const value = useMemo(() => ({ status, flashed }), [status, flashed]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useLive(): LiveCtx {
  return useContext(Ctx);
}

/** A small, unobtrusive connection indicator for the header (words only while reconnecting). */
export function LiveIndicator() {
  const { status } = useLive();
  if (status === 'off') return null;
  const label =
    status === 'live' ? 'Live updates on' : status === 'reconnecting' ? 'Reconnecting…' : 'Connecting…';
  return (
    <span className={`live-indicator live-${status}`} role="status" data-testid="live-status" data-status={status} title={label}>
      <span className="live-dot" aria-hidden="true" />
      <span className={status === 'reconnecting' ? 'small muted' : 'visually-hidden'}>{label}</span>
    </span>
  );
}

import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';

export type ToastKind = 'error' | 'success' | 'info';
/** A button in the toast (Undo, Retry); clicking it also dismisses the toast. */
export interface ToastAction {
  label: string;
  onClick: () => void;
}
interface Toast {
  id: number;
  kind: ToastKind;
  message: string;
  action?: ToastAction;
}

interface ToastCtx {
  push: (message: string, kind?: ToastKind, action?: ToastAction) => void;
}

const Ctx = createContext<ToastCtx | null>(null);

// Lets non-React code (the query client's global error handlers) raise toasts.
let externalPush: ToastCtx['push'] | null = null;
export function toast(message: string, kind: ToastKind = 'error'): void {
  externalPush?.(message, kind);
}

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const nextId = useRef(1);
  const dismiss = useCallback((id: number) => setToasts((ts) => ts.filter((t) => t.id !== id)), []);
  const push = useCallback(
    (message: string, kind: ToastKind = 'error', action?: ToastAction) => {
      const id = nextId.current++;
      setToasts((ts) => {
        // Don't stack the same message twice.
        if (ts.some((t) => t.message === message && t.kind === kind)) return ts;
        return [...ts.slice(-3), { id, kind, message, action }];
      });
      // A toast with an action (Undo) stays long enough to reach it.
      window.setTimeout(() => dismiss(id), action ? 10_000 : kind === 'error' ? 6000 : 2500);
    },
    [dismiss],
  );
  externalPush = push;
  const value = useMemo(() => ({ push }), [push]);
  return (
    <Ctx.Provider value={value}>
      {children}
      <div className="toasts" aria-live="polite" data-testid="toasts">
        {toasts.map((t) => (
          <div key={t.id} className={`toast toast-${t.kind}`} role={t.kind === 'error' ? 'alert' : 'status'} data-testid={`toast-${t.kind}`}>
            <p>{t.message}</p>
            {t.action ? (
              <button
                type="button"
                className="btn btn-sm"
                data-testid="toast-action"
                onClick={() => {
                  dismiss(t.id);
                  t.action?.onClick();
                }}
              >
                {t.action.label}
              </button>
            ) : null}
            <button type="button" className="btn btn-ghost btn-sm" aria-label="Dismiss" data-testid="toast-dismiss" onClick={() => dismiss(t.id)}>
              ×
            </button>
          </div>
        ))}
      </div>
    </Ctx.Provider>
  );
}

export function useToast(): ToastCtx {
  const v = useContext(Ctx);
  if (!v) throw new Error('useToast outside ToastProvider');
  return v;
}

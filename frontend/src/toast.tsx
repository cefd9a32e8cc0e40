import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';

export type ToastKind = 'error' | 'success' | 'info';
interface Toast {
  id: number;
  kind: ToastKind;
  message: string;
}

interface ToastCtx {
  push: (message: string, kind?: ToastKind) => void;
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
    (message: string, kind: ToastKind = 'error') => {
      const id = nextId.current++;
      setToasts((ts) => {
        // Don't stack the same message twice.
        if (ts.some((t) => t.message === message && t.kind === kind)) return ts;
        return [...ts.slice(-3), { id, kind, message }];
      });
      window.setTimeout(() => dismiss(id), kind === 'error' ? 6000 : 2500);
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
            <button type="button" className="btn btn-ghost btn-sm" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
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

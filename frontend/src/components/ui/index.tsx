import { forwardRef, type ButtonHTMLAttributes, type HTMLAttributes, type ReactNode } from 'react';
import type { Tone } from '../../lib/format';

type ButtonVariant = 'default' | 'primary' | 'ghost' | 'danger';

export interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  variant?: ButtonVariant;
  size?: 'md' | 'sm' | 'icon';
  loading?: boolean;
}

export const Button = forwardRef<HTMLButtonElement, ButtonProps>(function Button(
  { variant = 'default', size = 'md', loading = false, className = '', disabled, children, type = 'button', ...rest },
  ref,
) {
  const cls = [
    'btn',
    variant !== 'default' ? `btn-${variant}` : '',
    size === 'sm' ? 'btn-sm' : size === 'icon' ? 'btn-icon' : '',
    className,
  ]
    .filter(Boolean)
    .join(' ');
  return (
    <button ref={ref} type={type} className={cls} disabled={disabled || loading} aria-busy={loading || undefined} {...rest}>
      {loading ? <span aria-hidden="true">…</span> : null}
      {children}
    </button>
  );
});

export function Card({ className = '', children, ...rest }: HTMLAttributes<HTMLElement> & { children?: ReactNode }) {
  return (
    <section className={`card ${className}`.trim()} {...rest}>
      {children}
    </section>
  );
}

export function Badge({
  tone = 'muted',
  className = '',
  children,
  ...rest
}: HTMLAttributes<HTMLSpanElement> & { tone?: Tone | 'info' | 'outline' }) {
  return (
    <span className={`badge badge-${tone} ${className}`.trim()} {...rest}>
      {children}
    </span>
  );
}

export function Skeleton({ width = '100%', height = '1em', className = '' }: { width?: string | number; height?: string | number; className?: string }) {
  return <span className={`skeleton ${className}`.trim()} style={{ width, height }} aria-hidden="true" />;
}

export function EmptyState({
  title,
  children,
  action,
  ...rest
}: { title: string; children?: ReactNode; action?: ReactNode } & HTMLAttributes<HTMLDivElement>) {
  return (
    <div className="card empty" {...rest}>
      <h2>{title}</h2>
      {children ? <div className="muted">{children}</div> : null}
      {action ? <div style={{ marginTop: '1rem' }}>{action}</div> : null}
    </div>
  );
}

export function Alert({
  kind = 'info',
  children,
  ...rest
}: { kind?: 'info' | 'error' | 'warn'; children: ReactNode } & HTMLAttributes<HTMLDivElement>) {
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'} {...rest}>
      {children}
    </div>
  );
}

export function PageLoader() {
  return (
    <div className="stack" aria-busy="true" aria-label="Loading" data-testid="page-loading">
      <Skeleton height={28} width="40%" />
      <Skeleton height={200} />
      <Skeleton height={120} />
    </div>
  );
}

export function LockIcon({ size = 12 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 16 16" aria-hidden="true" focusable="false" style={{ flex: 'none' }}>
      <path
        fill="currentColor"
        d="M8 1a3.5 3.5 0 0 0-3.5 3.5V7H4a1.5 1.5 0 0 0-1.5 1.5v5A1.5 1.5 0 0 0 4 15h8a1.5 1.5 0 0 0 1.5-1.5v-5A1.5 1.5 0 0 0 12 7h-.5V4.5A3.5 3.5 0 0 0 8 1Zm-2 6V4.5a2 2 0 1 1 4 0V7H6Z"
      />
    </svg>
  );
}

/**
 * A failed load, said plainly, with a Retry that refetches. `onRetry` returns the
 * refetch promise; the button shows progress until it settles.
 */
export function RetryAlert({
  title,
  message,
  onRetry,
  retrying = false,
  kind = 'error',
  testId = 'load-error',
}: {
  title: string;
  message: string;
  onRetry: () => unknown;
  retrying?: boolean;
  kind?: 'error' | 'warn';
  testId?: string;
}) {
  return (
    <div className={`alert alert-${kind} retry-alert`} role="alert" data-testid={testId}>
      <div>
        <strong className="alert-title">{title}</strong>
        <span>{message}</span>
      </div>
      <Button size="sm" onClick={() => void onRetry()} loading={retrying} data-testid="retry">
        Retry
      </Button>
    </div>
  );
}

/**
 * A box a wide table scrolls sideways in. Focusable and named, so keyboard users can
 * scroll it too (axe: scrollable-region-focusable).
 */
export function TableWrap({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { ApiError, errorMessage } from '../api/client';
import { queryKeys, resendVerification } from '../api/endpoints';
import { useAuth } from '../auth';
import { useToast } from '../toast';

const DISMISS_KEY = 'stockdash.verify-dismissed';

function readDismissed(): number | null {
  try {
    const v = sessionStorage.getItem(DISMISS_KEY);
    return v ? Number(v) : null;
  } catch {
    return null;
  }
}

/** A slim reminder while the email address is unverified: "Resend" and dismiss (for this session). */
export function VerifyEmailBanner() {
  const { user } = useAuth();
  const [dismissed, setDismissed] = useState<number | null>(readDismissed);
  const qc = useQueryClient();
  const { push } = useToast();
  const resend = useMutation({
    mutationFn: resendVerification,
    meta: { silent: true },
    onSuccess: (res) => push(res.message || 'Verification email sent. Check your inbox.', 'success'),
    onError: (err) => {
      if (err instanceof ApiError && err.code === 'already_verified') {
        push('Your email address is already verified.', 'info');
        void qc.invalidateQueries({ queryKey: queryKeys.me });
        return;
      }
      push(
        err instanceof ApiError && err.status === 429
          ? `${err.message || 'Too many requests.'} Try again in a little while.`
          : errorMessage(err),
        'error',
      );
    },
  });
  if (!user || user.email_verified || dismissed === user.id) return null;
  const dismiss = () => {
    setDismissed(user.id);
    try {
      sessionStorage.setItem(DISMISS_KEY, String(user.id));
    } catch {
      /* storage unavailable: dismissed for this page only */
    }
  };
  return (
    <div className="verify-bar small" role="status" data-testid="verify-banner">
      <span className="verify-text">
        <span aria-hidden="true">✉</span> Verify your email: we sent a link to <strong>{user.email}</strong>
      </span>
      <button type="button" className="link-btn" onClick={() => resend.mutate()} disabled={resend.isPending} data-testid="verify-resend">
        {resend.isPending ? 'Sending…' : 'Resend'}
      </button>
      <button
        type="button"
        className="btn btn-ghost btn-icon verify-dismiss"
        onClick={dismiss}
        aria-label="Dismiss the verification reminder"
        title="Dismiss"
        data-testid="verify-dismiss"
      >
        <span aria-hidden="true">✕</span>
      </button>
    </div>
  );
}

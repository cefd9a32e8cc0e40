import { useMutation, useQueryClient } from '@tanstack/react-query';
import { ApiError, errorMessage } from '../api/client';
import { queryKeys, resendVerification } from '../api/endpoints';
import { useAuth } from '../auth';
import { useToast } from '../toast';
import { Alert, Button } from './ui';

/** Shown while the signed-in user's email address is unverified, with a "Resend" button. */
export function VerifyEmailBanner() {
  const { user } = useAuth();
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
  if (!user || user.email_verified) return null;
  return (
    <Alert kind="warn" data-testid="verify-banner">
      <div className="row" style={{ justifyContent: 'space-between' }}>
        <span>Please verify your email address: we sent you a link when you signed up.</span>
        <Button size="sm" onClick={() => resend.mutate()} loading={resend.isPending} data-testid="verify-resend">
          Resend email
        </Button>
      </div>
    </Alert>
  );
}

import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router-dom';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import { renderWithProviders } from '../test/utils';

vi.mock('../auth', () => ({
  useAuth: () => ({ token: null, user: undefined, userLoading: false, login: vi.fn(), logout: vi.fn() }),
}));

const api = vi.hoisted(() => ({
  verifyEmail: vi.fn(),
  requestPasswordReset: vi.fn(),
  confirmPasswordReset: vi.fn(),
}));
vi.mock('../api/endpoints', async (orig) => ({ ...(await orig<object>()), ...api }));

const { ForgotPasswordPage, ResetPasswordPage, VerifyEmailPage } = await import('./EmailPages');

beforeEach(() => Object.values(api).forEach((f) => f.mockReset()));

function renderAt(route: string) {
  return renderWithProviders(
    <Routes>
      <Route path="/verify-email" element={<VerifyEmailPage />} />
      <Route path="/forgot-password" element={<ForgotPasswordPage />} />
      <Route path="/reset-password" element={<ResetPasswordPage />} />
      <Route path="/login" element={<p>login page</p>} />
    </Routes>,
    { route },
  );
}

describe('ResetPasswordPage', () => {
  it('validates length and confirmation before calling the API', async () => {
    const user = userEvent.setup();
    renderAt('/reset-password?token=tok123');
    await user.type(screen.getByLabelText('New password'), 'short');
    await user.type(screen.getByLabelText('Confirm new password'), 'short');
    await user.click(screen.getByTestId('reset-submit'));
    expect(screen.getByTestId('reset-error')).toHaveTextContent(/at least 8/);

    await user.clear(screen.getByLabelText('New password'));
    await user.type(screen.getByLabelText('New password'), 'long-enough-1');
    await user.clear(screen.getByLabelText('Confirm new password'));
    await user.type(screen.getByLabelText('Confirm new password'), 'long-enough-2');
    await user.click(screen.getByTestId('reset-submit'));
    expect(screen.getByTestId('reset-error')).toHaveTextContent(/do not match/);
    expect(api.confirmPasswordReset).not.toHaveBeenCalled();
  });

  it('sends the token from the link with the new password, then links to login', async () => {
    const user = userEvent.setup();
    api.confirmPasswordReset.mockResolvedValue({ message: 'ok' });
    renderAt('/reset-password?token=tok123');
    await user.type(screen.getByLabelText('New password'), 'long-enough-1');
    await user.type(screen.getByLabelText('Confirm new password'), 'long-enough-1');
    await user.click(screen.getByTestId('reset-submit'));
    await screen.findByTestId('reset-done');
    expect(api.confirmPasswordReset).toHaveBeenCalledWith('tok123', 'long-enough-1');
    await user.click(screen.getByTestId('reset-login-link'));
    expect(await screen.findByText('login page')).toBeInTheDocument();
  });

  it("shows the server's invalid_token message and a way to ask again", async () => {
    const user = userEvent.setup();
    api.confirmPasswordReset.mockRejectedValue(new ApiError(422, 'invalid_token', 'This link is invalid or has expired.'));
    renderAt('/reset-password?token=used');
    await user.type(screen.getByLabelText('New password'), 'long-enough-1');
    await user.type(screen.getByLabelText('Confirm new password'), 'long-enough-1');
    await user.click(screen.getByTestId('reset-submit'));
    expect(await screen.findByTestId('reset-error')).toHaveTextContent('This link is invalid or has expired.');
    expect(screen.getByRole('link', { name: /new reset link/ })).toHaveAttribute('href', '/forgot-password');
  });

  it('explains a link without a token', () => {
    renderAt('/reset-password');
    expect(screen.getByTestId('reset-error')).toHaveTextContent(/no reset token/);
    expect(screen.queryByTestId('reset-form')).toBeNull();
  });
});

describe('ForgotPasswordPage', () => {
  it('shows the same neutral confirmation whatever the address', async () => {
    const user = userEvent.setup();
    api.requestPasswordReset.mockResolvedValue({ message: 'If the address is registered, a link is on its way.' });
    renderAt('/forgot-password');
    await user.type(screen.getByLabelText('Email'), 'nobody@example.com');
    await user.click(screen.getByTestId('forgot-submit'));
    expect(await screen.findByTestId('forgot-sent')).toHaveTextContent(/If an account uses that address/);
    expect(api.requestPasswordReset).toHaveBeenCalledWith('nobody@example.com');
  });
});

describe('VerifyEmailPage', () => {
  it('posts the token once and shows success', async () => {
    api.verifyEmail.mockResolvedValue({ message: 'Email verified.' });
    renderAt('/verify-email?token=abc');
    expect(await screen.findByTestId('verify-success')).toHaveTextContent('Email verified.');
    expect(api.verifyEmail).toHaveBeenCalledTimes(1);
    expect(api.verifyEmail).toHaveBeenCalledWith('abc');
    expect(screen.getByRole('link', { name: 'Log in' })).toBeInTheDocument();
  });

  it("shows the server's message for a bad token", async () => {
    api.verifyEmail.mockRejectedValue(new ApiError(422, 'invalid_token', 'The link is invalid or expired.'));
    renderAt('/verify-email?token=bad');
    expect(await screen.findByTestId('verify-error')).toHaveTextContent('The link is invalid or expired.');
  });

  it('needs a token', async () => {
    renderAt('/verify-email');
    await waitFor(() => expect(screen.getByTestId('verify-error')).toHaveTextContent(/no verification token/));
    expect(api.verifyEmail).not.toHaveBeenCalled();
  });
});

import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeUser } from '../test/fixtures';
import { renderWithProviders } from '../test/utils';

const auth = vi.hoisted(() => ({ user: null as unknown }));
vi.mock('../auth', () => ({ useAuth: () => ({ token: 't', user: auth.user, userLoading: false, login: vi.fn(), logout: vi.fn() }) }));
const api = vi.hoisted(() => ({ resendVerification: vi.fn() }));
vi.mock('../api/endpoints', async (orig) => ({ ...(await orig<object>()), ...api }));

const { VerifyEmailBanner } = await import('./VerifyEmailBanner');

afterEach(() => sessionStorage.clear());

describe('VerifyEmailBanner', () => {
  it('is one slim line with the address, Resend and a dismiss button that keeps it closed for the session', async () => {
    auth.user = makeUser({ id: 7, email: 'ann@example.com', email_verified: false });
    api.resendVerification.mockResolvedValue({ message: 'Sent.' });
    const { unmount } = renderWithProviders(<VerifyEmailBanner />);
    const bar = screen.getByTestId('verify-banner');
    expect(bar).toHaveTextContent('Verify your email: we sent a link to ann@example.com');
    await userEvent.click(screen.getByTestId('verify-resend'));
    expect(api.resendVerification).toHaveBeenCalledTimes(1);
    await userEvent.click(screen.getByRole('button', { name: 'Dismiss the verification reminder' }));
    expect(screen.queryByTestId('verify-banner')).toBeNull();
    unmount();
    renderWithProviders(<VerifyEmailBanner />);
    expect(screen.queryByTestId('verify-banner')).toBeNull();
  });

  it('stays hidden once verified, and comes back for another user', () => {
    sessionStorage.setItem('stockdash.verify-dismissed', '7');
    auth.user = makeUser({ id: 8, email_verified: false });
    const { unmount } = renderWithProviders(<VerifyEmailBanner />);
    expect(screen.getByTestId('verify-banner')).toBeInTheDocument();
    unmount();
    auth.user = makeUser({ id: 8, email_verified: true });
    renderWithProviders(<VerifyEmailBanner />);
    expect(screen.queryByTestId('verify-banner')).toBeNull();
  });
});

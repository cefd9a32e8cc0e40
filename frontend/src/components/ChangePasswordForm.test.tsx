import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import { renderWithProviders } from '../test/utils';

const api = vi.hoisted(() => ({ changePassword: vi.fn() }));
vi.mock('../api/endpoints', async (orig) => ({ ...(await orig<object>()), ...api }));
const { ChangePasswordForm } = await import('./ChangePasswordForm');

beforeEach(() => {
  api.changePassword.mockReset();
});

async function fill(current: string, next: string, confirm: string) {
  const user = userEvent.setup();
  if (current) await user.type(screen.getByLabelText('Current password'), current);
  await user.type(screen.getByLabelText('New password'), next);
  await user.type(screen.getByLabelText('Confirm new password'), confirm);
  await user.click(screen.getByTestId('password-submit'));
}

describe('ChangePasswordForm', () => {
  it('checks the new password locally first', async () => {
    renderWithProviders(<ChangePasswordForm />);
    await fill('old-password', 'new-password-1', 'new-password-2');
    expect(screen.getByTestId('password-error')).toHaveTextContent(/do not match/);
    expect(api.changePassword).not.toHaveBeenCalled();
  });

  it('explains a wrong current password (403 wrong_password)', async () => {
    api.changePassword.mockRejectedValue(new ApiError(403, 'wrong_password', 'Current password is incorrect.'));
    renderWithProviders(<ChangePasswordForm />);
    await fill('bad-password', 'new-password-1', 'new-password-1');
    expect(await screen.findByTestId('password-error')).toHaveTextContent(/current password is not correct/);
    expect(api.changePassword).toHaveBeenCalledWith('bad-password', 'new-password-1');
  });

  it('clears the form and confirms on success', async () => {
    api.changePassword.mockResolvedValue(undefined);
    renderWithProviders(<ChangePasswordForm />);
    await fill('old-password', 'new-password-1', 'new-password-1');
    expect(await screen.findByTestId('toast-success')).toHaveTextContent('Password changed');
    expect(screen.getByLabelText('Current password')).toHaveValue('');
  });
});

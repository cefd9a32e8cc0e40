import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { initialTheme, ThemeProvider, ThemeToggle } from './theme';

describe('theme', () => {
  it('toggles, applies to <html> at once and persists', async () => {
    localStorage.setItem('stockdash.theme', 'light');
    expect(initialTheme()).toBe('light');
    render(
      <ThemeProvider>
        <ThemeToggle />
      </ThemeProvider>,
    );
    await userEvent.click(screen.getByRole('button', { name: 'Switch to dark theme' }));
    expect(document.documentElement.dataset.theme).toBe('dark');
    expect(localStorage.getItem('stockdash.theme')).toBe('dark');
    expect(initialTheme()).toBe('dark');
    expect(screen.getByRole('button', { name: 'Switch to light theme' })).toBeInTheDocument();
  });
});

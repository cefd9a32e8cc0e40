import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { SearchResult } from '../api/types';
import { renderWithProviders } from '../test/utils';
import { SymbolSearch } from './SymbolSearch';

const DATA: SearchResult[] = [
  { symbol: 'AAPL', name: 'Apple Inc.', exchange: 'NASDAQ', sector: 'Technology' },
  { symbol: 'AMZN', name: 'Amazon.com Inc.', exchange: 'NASDAQ', sector: 'Consumer' },
  { symbol: 'AMD', name: 'Advanced Micro Devices', exchange: 'NASDAQ', sector: 'Technology' },
];

function setup(debounceMs = 0) {
  const search = vi.fn(async (q: string) => DATA.filter((d) => d.symbol.startsWith(q.toUpperCase()) || d.name.toLowerCase().includes(q.toLowerCase())));
  const onSelect = vi.fn();
  renderWithProviders(<SymbolSearch onSelect={onSelect} search={search} debounceMs={debounceMs} />);
  const input = screen.getByRole('combobox', { name: /search stocks/i });
  return { search, onSelect, input };
}

describe('SymbolSearch combobox', () => {
  it('is an accessible, collapsed combobox at rest', () => {
    const { input } = setup();
    expect(input).toHaveAttribute('aria-expanded', 'false');
    expect(input).toHaveAttribute('aria-autocomplete', 'list');
    const listId = input.getAttribute('aria-controls');
    expect(listId).toBeTruthy();
    expect(document.getElementById(listId as string)).toHaveAttribute('role', 'listbox');
  });

  it('debounces: one search for a burst of typing', async () => {
    vi.useFakeTimers();
    try {
      const { input, search } = setup(200);
      fireEvent.change(input, { target: { value: 'A' } });
      fireEvent.change(input, { target: { value: 'AM' } });
      fireEvent.change(input, { target: { value: 'AMZ' } });
      await act(async () => {
        vi.advanceTimersByTime(199);
      });
      expect(search).not.toHaveBeenCalled();
      await act(async () => {
        vi.advanceTimersByTime(1);
      });
      expect(search).toHaveBeenCalledTimes(1);
      expect(search).toHaveBeenCalledWith('AMZ');
    } finally {
      vi.useRealTimers();
    }
  });

  it('shows options and navigates them with the keyboard', async () => {
    const user = userEvent.setup();
    const { input, onSelect } = setup();
    await user.type(input, 'a');
    const options = await screen.findAllByRole('option');
    expect(options).toHaveLength(3);
    expect(input).toHaveAttribute('aria-expanded', 'true');

    await user.keyboard('{ArrowDown}');
    expect(options[0]).toHaveAttribute('aria-selected', 'true');
    expect(input).toHaveAttribute('aria-activedescendant', options[0]?.id);
    await user.keyboard('{ArrowDown}{ArrowDown}');
    expect(screen.getAllByRole('option')[2]).toHaveAttribute('aria-selected', 'true');
    await user.keyboard('{ArrowDown}'); // wraps
    expect(screen.getAllByRole('option')[0]).toHaveAttribute('aria-selected', 'true');
    await user.keyboard('{ArrowUp}'); // wraps back
    expect(screen.getAllByRole('option')[2]).toHaveAttribute('aria-selected', 'true');

    await user.keyboard('{Enter}');
    expect(onSelect).toHaveBeenCalledWith('AMD');
    expect(input).toHaveValue('');
    expect(input).toHaveAttribute('aria-expanded', 'false');
  });

  it('Enter picks the exact symbol match when nothing is highlighted', async () => {
    const user = userEvent.setup();
    const { input, onSelect } = setup();
    await user.type(input, 'aapl');
    await screen.findByTestId('search-option-AAPL');
    await user.keyboard('{Enter}');
    expect(onSelect).toHaveBeenCalledWith('AAPL');
  });

  it('Escape closes the list, a second Escape clears the text', async () => {
    const user = userEvent.setup();
    const { input } = setup();
    await user.type(input, 'am');
    await screen.findAllByRole('option');
    await user.keyboard('{Escape}');
    expect(input).toHaveAttribute('aria-expanded', 'false');
    expect(input).toHaveValue('am');
    await user.keyboard('{Escape}');
    expect(input).toHaveValue('');
  });

  it('selects with the mouse', async () => {
    const user = userEvent.setup();
    const { input, onSelect } = setup();
    await user.type(input, 'amazon');
    await user.click(await screen.findByTestId('search-option-AMZN'));
    expect(onSelect).toHaveBeenCalledWith('AMZN');
  });

  it('says when nothing matches', async () => {
    const user = userEvent.setup();
    const { input } = setup();
    await user.type(input, 'zzz');
    await waitFor(() => expect(screen.getByTestId('search-empty')).toHaveTextContent('No S&P 500 stock matches'));
  });
});

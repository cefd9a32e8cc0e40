import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { DashboardItem, TierInfo } from '../api/types';
import { renderWithProviders } from '../test/utils';
import { parseOverrides } from './AnalystPanel';
import { ScoreBadge } from './ScoreBadge';
import { StockRow } from './StockRow';
import { UpgradePrompt } from './UpgradePrompt';

const TIERS: TierInfo[] = [
  { tier: 'free', name: 'Free', max_stocks: 5, models: ['basic'] },
  { tier: 'pro', name: 'Pro', max_stocks: 10, models: ['basic', 'warren_buffett', 'peter_lynch'] },
];

describe('ScoreBadge', () => {
  it.each([
    [82, 'positive'],
    [50, 'neutral'],
    [20, 'negative'],
    [null, 'muted'],
  ] as const)('score %s → %s', (score, tone) => {
    render(<ScoreBadge score={score} model="basic" testId="b" />);
    const b = screen.getByTestId('b');
    expect(b).toHaveAttribute('data-tone', tone);
    expect(b).toHaveClass(`badge-${tone}`);
    expect(b).toHaveAccessibleName(`Basic score ${score === null ? '—' : score}`);
  });

  it('rounds and shows a short model label', () => {
    render(<ScoreBadge score={71.6} model="warren_buffett" short testId="b" />);
    expect(screen.getByTestId('b')).toHaveTextContent('WB72');
  });
});

describe('UpgradePrompt', () => {
  it('renders nothing while there is room', () => {
    const { container } = renderWithProviders(<UpgradePrompt count={3} max={5} tier="free" tiers={TIERS} />);
    expect(container.querySelector('[data-testid="upgrade-prompt"]')).toBeNull();
  });

  it('explains the limit and links to the plans when full', () => {
    renderWithProviders(<UpgradePrompt count={5} max={5} tier="free" tiers={TIERS} />);
    const p = screen.getByTestId('upgrade-prompt');
    expect(p).toHaveTextContent('Your watchlist is full (5 / 5). Upgrade to Pro to track up to 10 stocks.');
    expect(within(p).getByRole('link', { name: 'See plans' })).toHaveAttribute('href', '/plans');
  });
});

const ITEM: DashboardItem = {
  symbol: 'AAPL',
  added_at: '2024-01-01T00:00:00Z',
  sparkline: [1, 2, 3, 2.5],
  quote: {
    symbol: 'AAPL',
    name: 'Apple Inc.',
    price: 190.5,
    change: -1.2,
    change_percent: -0.63,
    as_of: '2024-06-03',
    source: 'demo',
    stale: true,
  },
  analysis: {
    symbol: 'AAPL',
    as_of: '2024-06-03',
    analyses: {
      warren_buffett: { model: 'warren_buffett', score: 40, signal: 'neutral', confidence: 0.7, summary: '', reasoning: '', factors: [] },
      basic: { model: 'basic', score: 70, signal: 'bullish', confidence: 0.8, summary: '', reasoning: '', factors: [] },
    },
    locked_models: [{ model: 'dcf_math', required_tier: 'expert' }],
    consensus: { score: 55, signal: 'neutral', agreement: 0.6 },
  },
};

describe('StockRow', () => {
  it('paints a skeleton card from the watchlist alone', () => {
    renderWithProviders(<StockRow symbol="MSFT" item={undefined} loading onRemove={() => {}} />);
    const row = screen.getByTestId('stock-row-MSFT');
    expect(row).toHaveAttribute('data-loaded', 'false');
    expect(within(row).getByRole('link', { name: 'MSFT' })).toHaveAttribute('href', '/stocks/MSFT');
  });

  it('shows price, change, consensus, analyst badges in order, markers and removes', async () => {
    const onRemove = vi.fn();
    renderWithProviders(<StockRow symbol="AAPL" item={ITEM} loading={false} onRemove={onRemove} />);
    const row = screen.getByTestId('stock-row-AAPL');
    expect(row).toHaveAttribute('data-loaded', 'true');
    expect(within(row).getByTestId('price')).toHaveTextContent('$190.50');
    expect(row).toHaveTextContent('−1.20 (−0.63%)');
    expect(within(row).getByTestId('consensus-score')).toHaveTextContent('55');
    const badges = within(row).getAllByTestId(/^score-/);
    expect(badges.map((b) => b.dataset.testid)).toEqual(['score-basic', 'score-warren_buffett']);
    expect(within(row).getByLabelText(/DCF locked, needs expert/)).toBeInTheDocument();
    const asOf = within(row).getByTestId('as-of');
    expect(asOf).toHaveTextContent('stale');
    expect(asOf).toHaveTextContent('demo');
    expect(asOf).toHaveTextContent('Jun 3, 2024');
    expect(within(row).getByTestId('sparkline')).toBeInTheDocument();
    await userEvent.click(within(row).getByRole('button', { name: 'Remove AAPL from watchlist' }));
    expect(onRemove).toHaveBeenCalledWith('AAPL');
  });
});

describe('parseOverrides', () => {
  it('turns percent inputs into fractions and skips blanks', () => {
    expect(parseOverrides({ discount_rate: '9', terminal_growth: '2.5', growth: '' })).toEqual({
      discount_rate: 0.09,
      terminal_growth: 0.025,
    });
    expect(parseOverrides({ discount_rate: '', terminal_growth: '', growth: '' })).toEqual({});
    expect(parseOverrides({ discount_rate: 'abc', terminal_growth: '', growth: '' })).toBeNull();
  });
});

import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { DashboardItem } from '../api/types';
import { makeAnalysis, makeAnalyst, makeConsensus, makeFactor, makeItem, makeStock, TIERS } from '../test/fixtures';
import { renderWithProviders } from '../test/utils';
import { AnalystPanel, parseOverrides } from './AnalystPanel';
import { IntrinsicValues } from './IntrinsicValues';
import { ScoreBadge } from './ScoreBadge';
import { StockRow } from './StockRow';
import { UpgradePrompt } from './UpgradePrompt';

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
    expect(b).toHaveAccessibleName(score === null ? 'Basic not rated' : `Basic score ${score} of 100`);
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

const ITEM: DashboardItem = makeItem('AAPL', {
  sparkline: [1, 2, 3, 2.5],
  quote: makeStock('AAPL', { name: 'Apple Inc.', price: 190.5, change: -1.2, change_percent: -0.63, source: 'demo', stale: true }),
  analysis: makeAnalysis('AAPL', {}, {
    analyses: { warren_buffett: makeAnalyst('warren_buffett', 40), basic: makeAnalyst('basic', 70) },
    locked_models: [{ model: 'dcf_math', required_tier: 'expert' }],
    consensus: makeConsensus(55, { agreement: 0.6 }),
  }),
});

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
    expect(within(row).getByText(/DCF locked, needs expert/)).toBeInTheDocument();
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

describe('AnalystPanel', () => {
  const result = makeAnalyst('warren_buffett', 68, {
    factors: [
      makeFactor({ name: 'Operating margin', value: 0.3197, benchmark: '0 at <= 5%, full at >= 15%', points: 10, max_points: 10 }),
      makeFactor({ name: 'Debt/equity', value: 1.338, benchmark: 'full at <= 0.5', points: 1.6, max_points: 10 }),
      makeFactor({ name: 'Margin of safety', value: -1.0472, points: 0, max_points: 20 }),
      makeFactor({ name: 'ROE level', value: null, explanation: 'Not scored (15 points excluded): no equity reported.' }),
      makeFactor({ name: 'Owner earnings', value: 110_993_000_000, explanation: 'Latest year.' }),
      makeFactor({ name: 'Intrinsic value per share', value: 151.1117 }),
    ],
  });

  it('shows scored factors in their units with points, excluded ones as not scored', () => {
    renderWithProviders(<AnalystPanel result={result} />);
    const rows = screen.getAllByTestId('factor-row');
    expect(rows.map((r) => within(r).getByRole('rowheader').firstChild?.textContent)).toEqual([
      'Operating margin',
      'Debt/equity',
      'Margin of safety',
    ]);
    expect(rows[0]).toHaveTextContent('32.0%');
    expect(rows[0]).toHaveTextContent('10/10');
    expect(rows[1]).toHaveTextContent('1.34x');
    expect(rows[2]).toHaveTextContent('−104.7%');
    const excluded = screen.getByTestId('factor-excluded-row');
    expect(excluded).toHaveTextContent('ROE level');
    expect(excluded).toHaveTextContent('not scored');
    expect(excluded).not.toHaveTextContent('0/0');
  });

  it('lists informational factors apart, without points', () => {
    renderWithProviders(<AnalystPanel result={result} />);
    const info = screen.getAllByTestId('factor-info-row');
    expect(info.map((r) => r.textContent)).toEqual(['Owner earningsLatest year.$110.99B', 'Intrinsic value per share$151.11']);
    expect(screen.getByTestId('factor-info')).toHaveTextContent('Inputs and workings (2, not scored)');
    for (const r of info) expect(r).not.toHaveTextContent('/');
  });
});

describe('IntrinsicValues', () => {
  const buffett = makeAnalyst('warren_buffett', 60, { factors: [makeFactor({ name: 'Intrinsic value per share', value: 150 })] });
  const dcf = makeAnalyst('dcf_math', 40, { factors: [makeFactor({ name: 'Value per share', value: 80 })] });

  it('sets each value against the price, and says which one could not be computed', () => {
    render(<IntrinsicValues analyses={{ warren_buffett: buffett, dcf_math: dcf }} price={100} />);
    expect(screen.getByTestId('intrinsic-buffett')).toHaveTextContent('$150.00');
    expect(screen.getByTestId('intrinsic-buffett').nextElementSibling).toHaveTextContent('+50%');
    expect(screen.getByTestId('intrinsic-dcf-base').nextElementSibling).toHaveTextContent('−20%');
    expect(screen.getByTestId('intrinsic-dcf-weighted')).toHaveTextContent('not computable');
    expect(screen.getByRole('table', { name: /Intrinsic value per share vs price \(\$100\.00\)/ })).toBeInTheDocument();
    expect(screen.getByText(/compare each with the price/)).toBeInTheDocument();
  });

  it('shows nothing when no model with an intrinsic value is on the plan', () => {
    const { container } = render(<IntrinsicValues analyses={{ basic: makeAnalyst('basic', 50) }} price={100} />);
    expect(container).toBeEmptyDOMElement();
  });
});

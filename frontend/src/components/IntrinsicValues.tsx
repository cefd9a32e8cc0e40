import type { AnalystResult } from '../api/types';
import { changeTone, formatPrice, formatRatioPercent } from '../lib/format';
import { intrinsicValues } from '../lib/intrinsic';
import { TableWrap } from './ui';

/** Buffett's and the DCF's intrinsic values per share, side by side against the price. */
export function IntrinsicValues({ analyses, price }: { analyses: Partial<Record<string, AnalystResult>>; price: number | null | undefined }) {
  const rows = intrinsicValues(analyses, price);
  if (!rows.length) return null;
  return (
    <div className="intrinsic" data-testid="intrinsic-values">
      <TableWrap label="Intrinsic values">
        <table className="table intrinsic-table">
          <caption className="intrinsic-caption">
            Intrinsic value per share vs price{typeof price === 'number' ? ` (${formatPrice(price)})` : ''}
          </caption>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col" className="r">
                Value
              </th>
              <th scope="col" className="r">
                vs price
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key}>
                <th scope="row">
                  {r.label}
                  <span className="factor-why">{r.method}</span>
                </th>
                <td className="r num" data-testid={`intrinsic-${r.key}`}>
                  {r.value === null ? <span className="muted">not computable</span> : formatPrice(r.value)}
                </td>
                <td className={`r num tone-${changeTone(r.vsPrice)}`}>{r.vsPrice === null ? '' : formatRatioPercent(r.vsPrice, 0, true)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <p className="small muted" style={{ margin: '0.4rem 0 0' }}>
        Three models with different inputs are not expected to agree: compare each with the price, not with each other.
      </p>
    </div>
  );
}

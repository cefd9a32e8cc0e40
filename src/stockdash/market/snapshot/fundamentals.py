"""Annual fundamentals for the snapshot: SEC 10-K data, gaps filled from yfinance, split-adjusted.

The SEC set reports each fiscal year as its latest 10-K printed it, so diluted shares and EPS sit on
the share basis of that filing: a split shows up as a jump between two consecutive years, years
after the split's filing are already restated. `adjust_shares` puts every year on today's basis:

1. Unit slips (counts reported in thousands or millions) are undone where a year differs from its
   neighbour by ~1000x; no split is that large.
2. A year without a reported count but with EPS and net income gets the count its EPS implies.
3. Anchors fix a year's factor directly: yfinance diluted average shares (split-adjusted when
   fetched) or, without them, yfinance EPS; and, for the latest year, a split seen in the daily
   key financials after that year's filing (share count from market cap / price jumps by the ratio
   while price and EPS fall by it).
4. Between unanchored years, a jump r is an n:1 split when r is close to a usual split ratio (3:2,
   2, 3, 4, 5, 6, 8, 10, 15, 20, 25, 30, 40, 50 or a reverse 1:2 ... 1:50), allowing for a year of
   organic change (a loss year's diluted count excludes antidilutive shares, so a loss-to-profit
   year is expected to grow), unless revenue grew at least half as much as the share count (a
   merger or listing, not a split).
Reported EPS is then divided by the same factor when it agrees with net income / shares (or by the
split ratio separating its own basis from the shares' basis); otherwise reported yfinance EPS is
used; only without either is EPS derived from net income / shares, and the source map says so.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from stockdash.market.snapshot.keystats import SPLITS, SplitEvent
from stockdash.market.snapshot.ohlcv import num, r4

Row = dict[str, Any]
FILED_LAG_DAYS = 75
FYE_SLACK_DAYS = 10  # 52/53-week years end a few days either side of the usual date
MIN_ANNUAL_GAP_DAYS = 300
SEC = "fundamentals-sec-annual"
YF = "fundamentals-yfinance-2021-2026q"
YF_SNAP = "fundamentals-yfinance-snapshot-2026-09"
YF_FETCHED = date(2026, 3, 27)
YF_SNAP_FETCHED = date(2026, 9, 30)
ANCHOR_TOLERANCE = 0.05
EPS_BASIS_TOLERANCE = math.log(1.35)
EPS_DIFFERS = (
    "differs from net_income / diluted shares (net income includes noncontrolling interests or "
    "preferred dividends, or several share classes)"
)

SEC_FLOWS = {
    "revenue": "revenue",
    "gross_profit": "grossProfit",
    "operating_income": "opIncome",
    "net_income": "netIncome",
    "operating_cash_flow": "ocf",
    "capital_expenditure": "capex",
    "_div_ps": "divPS",
    "_div_paid": "dividendsPaid",
    "_sec_eps": "eps",
}
SEC_BALANCES = {
    "shareholders_equity": "equity",
    "total_assets": "assets",
    "cash": "cash",
    "_lt_debt": "ltDebt",
}
FLOW_FIELDS = ("revenue", "net_income", "operating_cash_flow")
YF_LABELS = {
    "revenue": ("Total Revenue",),
    "gross_profit": ("Gross Profit",),
    "operating_income": ("Operating Income",),
    "net_income": ("Net Income",),
    "_yf_eps": ("Diluted EPS",),
    "_yf_shares": ("Diluted Average Shares",),
    "depreciation_amortization": ("Depreciation And Amortization", "Reconciled Depreciation"),
    "total_debt": ("Total Debt",),
    "cash": ("Cash And Cash Equivalents",),
    "shareholders_equity": ("Stockholders Equity",),
    "total_assets": ("Total Assets",),
    "operating_cash_flow": ("Operating Cash Flow",),
    "capital_expenditure": ("Capital Expenditure",),
}
SNAP_KEYS = {
    "revenue": "revenue",
    "gross_profit": "gross_profit",
    "net_income": "net_income",
    "_yf_eps": "eps",
    "shareholders_equity": "equity",
    "total_assets": "total_assets",
    "total_debt": "debt",
    "operating_cash_flow": "cfo",
    "capital_expenditure": "capex",
}
TOTAL_DEBT_SOURCES = {
    YF: f"{YF} Total Debt (short- plus long-term)",
    YF_SNAP: f"{YF_SNAP} debt (total debt)",
}
PLAIN_SEC = frozenset({f"{SEC} eps (reported)", f"{SEC} dilutedShares"})
LT_DEBT_SOURCE = f"{SEC} ltDebt (long-term debt only; no short-term debt)"

# Tolerance (log distance) and a small preference weight per split ratio: common ratios first.
_RULES: dict[float, tuple[float, float]] = {
    1.5: (0.04, 0.05),
    2.0: (0.12, 0.0),
    3.0: (0.2, 0.0),
    4.0: (0.2, 0.0),
    5.0: (0.2, 0.04),
    6.0: (0.08, 0.05),
    8.0: (0.08, 0.05),
    10.0: (0.15, 0.0),
    15.0: (0.08, 0.05),
    20.0: (0.08, 0.03),
    25.0: (0.08, 0.05),
    30.0: (0.08, 0.08),
    40.0: (0.08, 0.08),
    50.0: (0.08, 0.05),
}
REVERSE_TOLERANCE = 0.08
REVERSE_WEIGHT = 0.03
ORGANIC_SHIFT = 0.1


@dataclass(slots=True)
class ShareBasis:
    """Per fiscal year: the raw count, how it was obtained, and its factor to today's basis."""

    raw: dict[int, float] = field(default_factory=dict)
    kind: dict[int, str] = field(default_factory=dict)
    factor: dict[int, float] = field(default_factory=dict)
    splits: list[tuple[int, float]] = field(default_factory=list)
    anchored: set[int] = field(default_factory=set)

    def adjusted(self, fy: int) -> float | None:
        """The count on today's basis."""
        return self.raw[fy] * self.factor[fy] if fy in self.raw else None


# --- fiscal years --------------------------------------------------------------------------


def fiscal_year(end: date) -> int:
    """Fiscal year label of a period end (Jan 1-7 ends belong to the prior year)."""
    return end.year - 1 if end.month == 1 and end.day <= 7 else end.year


def _day_of_year(d: date) -> int:
    return (d - date(d.year, 1, 1)).days


def _circular(a: int, b: int) -> int:
    diff = abs(a - b) % 366
    return min(diff, 366 - diff)


def usual_year_end(ends: Iterable[date]) -> int | None:
    """Day of year on which the company's fiscal years usually end (the densest ±10-day cluster)."""
    days = [_day_of_year(e) for e in ends]
    if not days:
        return None
    counts = Counter(days)
    return max(
        sorted(counts),
        key=lambda d: sum(n for x, n in counts.items() if _circular(x, d) <= FYE_SLACK_DAYS),
    )


def annual_points(points: Iterable[Row] | None, fye: int | None) -> dict[int, tuple[date, float]]:
    """An SEC [{end, v}] series keyed by fiscal year, keeping annual periods only.

    A period ending near the usual fiscal year end is annual; one ending elsewhere is kept only when
    it is at least 300 days from every kept end (a changed fiscal year), never when it is a
    half-year or trailing-twelve-month figure filed next to the annual ones.
    """
    parsed = sorted(
        (date.fromisoformat(str(p["end"])[:10]), v)
        for p in points or []
        if p.get("end") and (v := num(p.get("v"))) is not None
    )
    if fye is None:
        near = parsed
    else:
        near = [(e, v) for e, v in parsed if _circular(_day_of_year(e), fye) <= FYE_SLACK_DAYS]
    kept = list(near)
    for e, v in parsed:
        if (e, v) in near:
            continue
        if all(abs((e - k).days) >= MIN_ANNUAL_GAP_DAYS for k, _ in kept):
            kept.append((e, v))
    out: dict[int, tuple[date, float]] = {}
    for e, v in sorted(kept):
        out[fiscal_year(e)] = (e, v)
    return out


# --- yfinance ---------------------------------------------------------------------------------


def _yf_years(doc: Row) -> dict[int, tuple[date, Row]]:
    """yfinance 2021-2026q file (either schema) as fiscal year -> (period end, label map)."""
    merged: dict[str, Row] = {}
    for key in ("annual_income", "annual_balance"):
        for period, labels in (doc.get(key) or {}).items():
            merged.setdefault(period[:10], {}).update(labels)
    for key in ("income_statement", "balance_sheet", "cash_flow"):
        for rec in doc.get(key) or []:
            merged.setdefault(str(rec.get("period", ""))[:10], {}).update(rec)
    out: dict[int, tuple[date, Row]] = {}
    for period, labels in merged.items():
        try:
            end = date.fromisoformat(period)
        except ValueError:
            continue
        out[fiscal_year(end)] = (end, _yf_values(labels))
    return out


def _yf_values(labels: Row) -> Row:
    """Our field names from one yfinance period's labels."""
    out: Row = {}
    for name, keys in YF_LABELS.items():
        for key in keys:
            v = num(labels.get(key))
            if v is not None:
                out[name] = abs(v) if name == "capital_expenditure" else v
                break
    return out


def _snap_years(doc: Row) -> dict[int, tuple[date, Row]]:
    """yfinance snapshot 2026-09 annual arrays as fiscal year -> (period end, values)."""
    annual = doc.get("annual") or {}
    out: dict[int, tuple[date, Row]] = {}
    for i, period in enumerate(annual.get("periods") or []):
        end = date.fromisoformat(str(period)[:10])
        values: Row = {}
        for name, key in SNAP_KEYS.items():
            arr = annual.get(key) or []
            v = num(arr[i]) if i < len(arr) else None
            if v is not None:
                values[name] = abs(v) if name == "capital_expenditure" else v
        out[fiscal_year(end)] = (end, values)
    return out


# --- split adjustment -------------------------------------------------------------------------


def _candidates() -> list[tuple[float, float, float]]:
    """(ratio, tolerance, weight) for every forward and reverse split considered."""
    out = [(n, tol, w) for n, (tol, w) in _RULES.items()]
    out += [
        (1 / n, REVERSE_TOLERANCE, w + REVERSE_WEIGHT) for n, (_, w) in _RULES.items() if n >= 2
    ]
    return out


CANDIDATES = _candidates()
# Cumulative factors: up to three splits in one direction (1.5 x 2 = 3, 4 x 10 = 40, 5 x 3 = 15).
PRODUCTS = sorted(
    {1.0}
    | {
        p
        for k in (1, 2, 3)
        for c in itertools.combinations_with_replacement(SPLITS, k)
        for p in (math.prod(c), 1 / math.prod(c))
    }
)


def snap_product(ratio: float, tolerance: float = ANCHOR_TOLERANCE) -> float | None:
    """The product of up to three splits within `tolerance` (log) of a ratio, else None."""
    if ratio <= 0:
        return None
    best = min(PRODUCTS, key=lambda p: abs(math.log(ratio / p)))
    return best if abs(math.log(ratio / best)) <= tolerance else None


def boundary_split(
    ratio: float, ni: tuple[float | None, float | None], revenue: tuple[float | None, float | None]
) -> float:
    """The split (1.0 for none) best explaining a year-over-year share-count ratio."""
    ni0, ni1 = ni
    shift = 0.0
    if ni0 is not None and ni1 is not None:
        if ni0 <= 0 < ni1:
            shift = ORGANIC_SHIFT
        elif ni1 <= 0 < ni0:
            shift = -ORGANIC_SHIFT
    best, best_score = 1.0, math.inf
    for n, tol, weight in CANDIDATES:
        gap = abs(math.log(ratio / n) - shift)
        if gap <= tol and gap + weight < best_score:
            best, best_score = n, gap + weight
    rev0, rev1 = revenue
    if best > 1 and rev0 and rev1 and rev0 > 0 and rev1 / rev0 >= 1 + 0.5 * (ratio - 1):
        return 1.0  # revenue moved with the share count: a merger or listing, not a split
    return best


def _fix_units(raw: dict[int, float], current: float | None) -> dict[int, float]:
    """Undo counts reported in thousands or millions: a >=200x step against the next year.

    No split comes near 200:1, so such a step is a unit slip; after rescaling by powers of 1000 the
    count must be within a split's reach (60x) of its neighbour.
    """
    fixed: dict[int, float] = {}
    reference = current
    for fy in sorted(raw, reverse=True):
        v = raw[fy]
        if reference and abs(math.log(v / reference)) > math.log(200):
            k = round(math.log(reference / v, 1000))
            if abs(math.log(v * 1000.0**k / reference)) <= math.log(60):
                v *= 1000.0**k
        fixed[fy] = v
        reference = v
    return fixed


def adjust_shares(
    *,
    sec_shares: Mapping[int, float],
    sec_eps: Mapping[int, float],
    net_income: Mapping[int, float],
    revenue: Mapping[int, float],
    anchors: Mapping[int, float],
    current_shares: float | None,
    latest_split: float,
) -> ShareBasis:
    """Every year's diluted count with its factor to today's basis (see the module docstring)."""
    basis = ShareBasis()
    for fy in sorted(set(sec_shares) | set(sec_eps)):
        shares, eps, ni = sec_shares.get(fy), sec_eps.get(fy), net_income.get(fy)
        if shares is not None and shares > 0:
            basis.raw[fy], basis.kind[fy] = shares, "reported"
        elif eps and ni and abs(eps) >= 0.05 and ni / eps > 0:
            basis.raw[fy], basis.kind[fy] = ni / eps, "implied"
    latest_reported = max(basis.raw, default=None)
    reference = current_shares / latest_split if current_shares else None
    if reference is None and latest_reported is not None:
        reference = basis.raw[latest_reported]
    basis.raw = _fix_units(basis.raw, reference)
    basis.kind = {fy: k for fy, k in basis.kind.items() if fy in basis.raw}
    years = sorted(basis.raw, reverse=True)
    for i, fy in enumerate(years):
        anchored = _anchor(anchors.get(fy), basis.raw[fy])
        if anchored is not None:
            basis.factor[fy] = anchored
            basis.anchored.add(fy)
        elif i == 0:
            basis.factor[fy] = latest_split
        else:
            nxt = years[i - 1]
            n = boundary_split(
                basis.raw[nxt] / basis.raw[fy],
                (net_income.get(fy), net_income.get(nxt)),
                (revenue.get(fy), revenue.get(nxt)),
            )
            basis.factor[fy] = basis.factor[nxt] * n
        if i and basis.factor[fy] != basis.factor[years[i - 1]]:
            basis.splits.append((years[i - 1], basis.factor[fy] / basis.factor[years[i - 1]]))
    return basis


def _anchor(today_count: float | None, raw: float) -> float | None:
    """The factor that turns `raw` into an anchor's count on today's basis, if it is a split product."""
    if today_count is None or today_count <= 0:
        return None
    return snap_product(today_count / raw)


def eps_on_today_basis(
    eps: float | None, raw: float | None, kind: str | None, factor: float, ni: float | None
) -> tuple[float | None, bool]:
    """Reported EPS on today's basis, and whether it agrees with net income / diluted shares.

    EPS and the share count of one year come from the same income statement, so they share its
    basis; where EPS disagrees with net income / shares (net income including noncontrolling
    interests, preferred dividends, several share classes) the reported EPS is still the figure
    the company reported, and the disagreement is stated.
    """
    if eps is None or raw is None:
        return None, False
    if kind == "implied":
        return eps / factor, True
    if not ni:
        return eps / factor, True  # nothing to check against
    consistency = eps * raw / ni
    return eps / factor, consistency > 0 and abs(math.log(consistency)) <= EPS_BASIS_TOLERANCE


# --- merge -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarketShares:
    """What the daily key financials say about a symbol's share count."""

    current: float | None = None
    splits: tuple[SplitEvent, ...] = ()

    def factor_after(self, day: date, *, strict: bool = False) -> float:
        """Product of the splits seen after a day (strict: only those surely after it)."""
        return math.prod(e.ratio for e in self.splits if (e.before if strict else e.after) > day)


def build_fundamentals(
    sec: Row | None, yf: Row | None, snap: Row | None, market: MarketShares | None = None
) -> list[Row]:
    """Merged annual fundamentals for one symbol, oldest first, as JSON rows."""
    market = market or MarketShares()
    flow_ends = [
        date.fromisoformat(str(p["end"])[:10])
        for key in ("revenue", "netIncome", "ocf")
        for p in ((sec or {}).get("annual") or {}).get(key) or []
        if p.get("end")
    ]
    fye = usual_year_end(flow_ends)
    years: dict[int, Row] = {}
    ends: dict[int, date] = {}
    if sec:
        for group, fields in (("annual", SEC_FLOWS), ("balances", SEC_BALANCES)):
            for name, key in fields.items():
                for fy, (end, v) in annual_points((sec.get(group) or {}).get(key), fye).items():
                    years.setdefault(fy, {"src": {}})[name] = v
                    if name in FLOW_FIELDS:
                        ends[fy] = max(end, ends.get(fy, end))
    yf_years = _yf_years(yf) if yf else {}
    snap_years = _snap_years(snap) if snap else {}
    for origin, by_year in ((YF, yf_years), (YF_SNAP, snap_years)):
        for fy, (end, values) in by_year.items():
            row = years.setdefault(fy, {"src": {}})
            for name, v in values.items():
                if name not in row:
                    row[name] = v
                    row["src"][name] = origin
            if any(k in values for k in FLOW_FIELDS):
                ends.setdefault(fy, end)
    years = {fy: r for fy, r in years.items() if any(k in r for k in FLOW_FIELDS) and fy in ends}

    basis = _share_basis(sec, yf_years, snap_years, years, ends, fye, market)
    post_yf = market.factor_after(YF_FETCHED, strict=True)
    return [_row(fy, years[fy], ends[fy], basis, post_yf) for fy in sorted(years)]


def _share_basis(
    sec: Row | None,
    yf_years: dict[int, tuple[date, Row]],
    snap_years: dict[int, tuple[date, Row]],
    years: dict[int, Row],
    ends: dict[int, date],
    fye: int | None,
    market: MarketShares,
) -> ShareBasis:
    """Diluted shares of every year on today's basis."""
    sec_shares = {
        fy: v for fy, (_, v) in annual_points((sec or {}).get("dilutedShares"), fye).items()
    }
    sec_eps = {fy: r["_sec_eps"] for fy, r in years.items() if "_sec_eps" in r}
    ni = {fy: r["net_income"] for fy, r in years.items() if "net_income" in r}
    revenue = {fy: r["revenue"] for fy, r in years.items() if "revenue" in r}
    latest = max(sec_shares, default=None)
    latest_split = 1.0
    if latest is not None and latest in ends and market.current:
        # A split after the latest 10-K: the share count jumped by the ratio the prices show.
        filed = ends[latest] + timedelta(days=FILED_LAG_DAYS)
        n = snap_product(market.current / sec_shares[latest], 0.15)
        if n is not None and n != 1.0 and math.isclose(market.factor_after(filed), n):
            latest_split = n
    anchors: dict[int, float] = {}
    post_yf = market.factor_after(YF_FETCHED, strict=True)
    for fy, (_, values) in yf_years.items():
        if values.get("_yf_shares"):
            anchors[fy] = values["_yf_shares"] * post_yf
        elif values.get("_yf_eps") and sec_eps.get(fy) and ni.get(fy):
            anchors[fy] = ni[fy] / (values["_yf_eps"] / post_yf)
    for fy, (_, values) in snap_years.items():
        if fy not in anchors and values.get("_yf_eps") and ni.get(fy):
            anchors[fy] = ni[fy] / values["_yf_eps"]
    return adjust_shares(
        sec_shares=sec_shares,
        sec_eps=sec_eps,
        net_income=ni,
        revenue=revenue,
        anchors=anchors,
        current_shares=market.current,
        latest_split=latest_split,
    )


def _eps(
    row: Row, fy: int, basis: ShareBasis, shares: float | None, post_yf: float
) -> tuple[float | None, str | None]:
    """Diluted EPS on today's basis and where it came from."""
    src: dict[str, str] = row["src"]
    ni = row.get("net_income")
    factor = basis.factor.get(fy, 1.0)
    reported, consistent = eps_on_today_basis(
        row.get("_sec_eps"), basis.raw.get(fy), basis.kind.get(fy), factor, ni
    )
    if reported is not None:
        divisor = row["_sec_eps"] / reported if reported else factor
        note = "" if math.isclose(divisor, 1.0) else f", split-adjusted (divided by {divisor:g})"
        if not consistent:
            note += f"; {EPS_DIFFERS}"
        return reported, f"{SEC} eps (reported){note}"
    if row.get("_yf_eps") is not None:
        origin = src.get("_yf_eps", YF)
        eps = row["_yf_eps"] / (post_yf if origin == YF else 1.0)
        return eps, f"{origin} Diluted EPS (reported)"
    if ni is not None and shares:
        return ni / shares, "derived: net_income / diluted shares"
    return None, None


def _shares(
    row: Row, fy: int, basis: ShareBasis, post_yf: float
) -> tuple[float | None, str | None]:
    """Diluted weighted average shares on today's basis and where they came from."""
    adjusted = basis.adjusted(fy)
    if adjusted is not None:
        factor = basis.factor[fy]
        note = "" if math.isclose(factor, 1.0) else f", split-adjusted (times {factor:g})"
        if basis.kind[fy] == "implied":
            return adjusted, f"derived: net_income / {SEC} eps (reported){note}"
        return adjusted, f"{SEC} dilutedShares{note}"
    if row.get("_yf_shares") is not None:
        origin = row["src"].get("_yf_shares", YF)
        return row["_yf_shares"] * post_yf, f"{origin} Diluted Average Shares"
    return None, None


def _dividend_ps(
    row: Row, fy: int, shares: float | None, basis: ShareBasis
) -> tuple[float | None, str | None]:
    """SEC dividends per share on today's basis, checked against dividends paid where possible."""
    dps = row.get("_div_ps")
    if dps is None or dps <= 0:
        return dps, None
    paid = row.get("_div_paid")
    if paid and shares:
        ratio = dps * shares / paid
        if 0.6 <= ratio <= 1.6:
            return float(dps), None
        k = snap_product(ratio, 0.15)
        if k is None:
            return None, "omitted: dividends per share disagree with dividends paid / shares"
        return dps / k, f"{SEC} divPS, split-adjusted (divided by {k:g})"
    factor = basis.factor.get(fy, 1.0)
    if math.isclose(factor, 1.0):
        return float(dps), None
    return dps / factor, f"{SEC} divPS, split-adjusted (divided by {factor:g})"


def _row(fy: int, row: Row, end: date, basis: ShareBasis, post_yf: float) -> Row:
    """One fiscal year as a JSON row; `src` names the source of every value not from SEC."""
    src: dict[str, str] = dict(row["src"])
    shares, shares_src = _shares(row, fy, basis, post_yf)
    eps, eps_src = _eps(row, fy, basis, shares, post_yf)
    dps, dps_src = _dividend_ps(row, fy, shares, basis)
    total_debt = row.get("total_debt")
    if total_debt is not None:
        src["total_debt"] = TOTAL_DEBT_SOURCES[src.get("total_debt", YF)]
    elif row.get("_lt_debt") is not None:
        total_debt = row["_lt_debt"]
        src["total_debt"] = LT_DEBT_SOURCE
    ocf, capex = row.get("operating_cash_flow"), row.get("capital_expenditure")
    fcf = ocf - capex if ocf is not None and capex is not None else None
    for name, label in (
        ("shares_outstanding", shares_src),
        ("eps_diluted", eps_src),
        ("dividends_per_share", dps_src),
    ):
        if label and label not in PLAIN_SEC:
            src[name] = label
    if fcf is not None:
        src["free_cash_flow"] = "derived: operating_cash_flow - capital_expenditure"
    return {
        "fy": fy,
        "end": end.isoformat(),
        "filed": (end + timedelta(days=FILED_LAG_DAYS)).isoformat(),
        "revenue": row.get("revenue"),
        "gross_profit": row.get("gross_profit"),
        "operating_income": row.get("operating_income"),
        "net_income": row.get("net_income"),
        "eps_diluted": r4(eps),
        "operating_cash_flow": ocf,
        "capital_expenditure": capex,
        "free_cash_flow": fcf,
        "depreciation_amortization": row.get("depreciation_amortization"),
        "total_debt": total_debt,
        "cash": row.get("cash"),
        "shareholders_equity": row.get("shareholders_equity"),
        "total_assets": row.get("total_assets"),
        "shares_outstanding": r4(shares),
        "dividends_per_share": r4(dps),
        "src": {k: v for k, v in sorted(src.items()) if not k.startswith("_")},
    }

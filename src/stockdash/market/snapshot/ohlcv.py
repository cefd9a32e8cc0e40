"""Daily OHLCV for the snapshot: read the source CSVs and join the three folders into one series.

The folders were fetched at different dates and the newest one mixes printed and dividend-adjusted
series, so an older segment is rescaled onto the newer one by the median close ratio over the first
common days (the seam), never by a single day. Whether a newer series shares the older one's basis
is decided per series from the overlap: a constant ratio means the same adjustment (or no dividend
in the window); a ratio that steps at ex-dividend dates means printed prices.
"""

from __future__ import annotations

import csv
import itertools
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

OHLCV_FOLDERS = ("ohlcv-daily-recent-2025-2026", "ohlcv-daily-2023-2026", "ohlcv-daily-2010-2025")
SPIKE = 1.6
SEAM_DAYS = 5
STEADY_SPREAD = 5e-4  # relative spread of the overlap ratio below which two series share a basis
MAX_SPLIT = 60

OhlcvRow = tuple[date, float | None, float | None, float | None, float, float | None]


@dataclass(frozen=True, slots=True)
class Frame:
    """Columnar daily series; open/high/low/volume are None on close-only days."""

    dates: list[date]
    open: list[float | None]
    high: list[float | None]
    low: list[float | None]
    close: list[float]
    volume: list[float | None]


@dataclass(frozen=True, slots=True)
class Seam:
    """Where an older segment was joined onto the newer series, and how."""

    newer: str
    older: str
    first_common: date
    factor: float
    overlap_days: int
    overlap_spread: float

    @property
    def steady(self) -> bool:
        """Whether the two series share an adjustment basis over the whole overlap."""
        return self.overlap_spread <= STEADY_SPREAD


def num(text: object) -> float | None:
    """Parse a finite float, or None."""
    if text is None or text == "":
        return None
    try:
        value = float(str(text))
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def r4(value: float | None) -> float | None:
    """Round to 4 decimals, keeping None."""
    return None if value is None else round(value, 4)


def split_factor(ratio: float) -> int:
    """Signed integer split factor n (n:1 split, -n reverse) a price ratio looks like, or 0."""
    if ratio <= 0:
        return 0
    k = ratio if ratio >= 1 else 1 / ratio
    n = round(k)
    if k < 1.9 or n > MAX_SPLIT or abs(k - n) / n > 0.12:
        return 0
    return n if ratio >= 1 else -n


def frame(rows: Iterable[OhlcvRow]) -> Frame:
    """Frame from rows, sorted by date with duplicate dates removed (first wins)."""
    seen: dict[date, OhlcvRow] = {}
    for row in rows:
        seen.setdefault(row[0], row)
    ordered = [seen[d] for d in sorted(seen)]
    return Frame(
        dates=[r[0] for r in ordered],
        open=[r[1] for r in ordered],
        high=[r[2] for r in ordered],
        low=[r[3] for r in ordered],
        close=[r[4] for r in ordered],
        volume=[r[5] for r in ordered],
    )


def rows_of(f: Frame) -> list[OhlcvRow]:
    """Row tuples of a frame."""
    return list(zip(f.dates, f.open, f.high, f.low, f.close, f.volume, strict=True))


def read_ohlcv_csv(path: Path) -> Frame:
    """Read one OHLCV CSV (any column order), skipping rows with empty fields."""
    rows: list[OhlcvRow] = []
    with path.open(newline="") as fh:
        for rec in csv.DictReader(fh):
            vals = [num(rec.get(k)) for k in ("Open", "High", "Low", "Close", "Volume")]
            if any(v is None for v in vals) or not rec.get("Date"):
                continue
            o, h, lo, c, v = (float(x or 0.0) for x in vals)
            if c > 0:
                rows.append((date.fromisoformat(rec["Date"][:10]), o, h, lo, c, v))
    return frame(rows)


def drop_spikes(f: Frame) -> Frame:
    """Drop single-day close spikes that reverse the next day (source glitches)."""
    c = f.close
    bad = {
        i
        for i in range(1, len(c) - 1)
        if (c[i] / c[i - 1] >= SPIKE and c[i] / c[i + 1] >= SPIKE)
        or (c[i] / c[i - 1] <= 1 / SPIKE and c[i] / c[i + 1] <= 1 / SPIKE)
    }
    return frame(r for i, r in enumerate(rows_of(f)) if i not in bad)


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def seam_factor(newer: Frame, older: Frame) -> tuple[float, list[date], float] | None:
    """(factor, common dates, overlap spread) to put `older` on `newer`'s basis, or None."""
    newer_close = dict(zip(newer.dates, newer.close, strict=True))
    common = [d for d in older.dates if d in newer_close]
    if not common:
        return None
    older_close = dict(zip(older.dates, older.close, strict=True))
    ratios = [newer_close[d] / older_close[d] for d in common]
    factor = statistics.median(ratios[:SEAM_DAYS])
    spread = (max(ratios) - min(ratios)) / statistics.median(ratios)
    return factor, common, spread


def join_segments(segments: Sequence[tuple[str, Frame]]) -> tuple[Frame, list[Seam]]:
    """Join (label, frame) segments given newest first onto the newest segment's basis."""
    if not segments:
        return frame([]), []
    newest_label, newest = segments[0]
    joined, label = frame(rows_of(newest)), newest_label
    seams: list[Seam] = []
    for older_label, seg in segments[1:]:
        older = frame(rows_of(seg))
        found = seam_factor(joined, older)
        if found is None:
            continue  # no common day: no honest scale, so the older segment is left out
        factor, common, spread = found
        vol_factor = factor if split_factor(factor) else 1.0
        first = common[0]
        extra = [
            (
                d,
                _scaled(o, factor),
                _scaled(h, factor),
                _scaled(lo, factor),
                c * factor,
                None if v is None else v / vol_factor,
            )
            for d, o, h, lo, c, v in rows_of(older)
            if d < first
        ]
        seams.append(Seam(label, older_label, first, factor, len(common), spread))
        joined, label = frame(rows_of(joined) + extra), f"{label}+{older_label}"
    return joined, seams


def load_history(source_dir: Path, names: Sequence[str]) -> tuple[Frame, list[Seam], str] | None:
    """Joined, de-glitched history from the first file name found per folder, or None.

    Segments are labelled `folder/file.csv`; a renamed member's old ticker is one of `names`.
    """
    segments: list[tuple[str, Frame]] = []
    for folder in OHLCV_FOLDERS:
        for name in names:
            path = source_dir / folder / f"{name}.csv"
            if path.is_file():
                seg = drop_spikes(read_ohlcv_csv(path))
                if seg.dates:
                    segments.append((f"{folder}/{name}.csv", seg))
                break
    if not segments:
        return None
    joined, seams = join_segments(segments)
    return joined, seams, segments[0][0]


def append_closes(f: Frame, closes: Sequence[tuple[date, float]]) -> Frame:
    """The frame extended by close-only days after its last date."""
    last = f.dates[-1] if f.dates else date.min
    extra: list[OhlcvRow] = [(d, None, None, None, c, None) for d, c in closes if d > last]
    return frame(rows_of(f) + extra) if extra else f


def close_frame(closes: Sequence[tuple[date, float]]) -> Frame:
    """A close-only frame."""
    return frame((d, None, None, None, c, None) for d, c in closes)


def _round(values: Sequence[float | None], digits: int | None) -> list[Any]:
    return [
        None if v is None else round(v, digits) if digits is not None else round(v) for v in values
    ]


def history_payload(f: Frame) -> dict[str, Any]:
    """Compact JSON form of a frame: start date, day deltas and rounded columns (null = no value)."""
    deltas = [0] + [(b - a).days for a, b in itertools.pairwise(f.dates)]
    payload: dict[str, Any] = {
        "start": f.dates[0].isoformat(),
        "d": deltas,
        "c": [round(x, 4) for x in f.close],
    }
    if any(v is not None for v in f.open):
        payload |= {
            "o": _round(f.open, 4),
            "h": _round(f.high, 4),
            "l": _round(f.low, 4),
            "v": _round(f.volume, None),
        }
    return payload

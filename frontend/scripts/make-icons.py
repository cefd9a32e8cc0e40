"""Draw the PWA icons (public/icons/*.png) with the standard library only: a blue tile with a rising line.

Run from frontend/: python3 scripts/make-icons.py  (the PNGs are committed; rerun only to change them).
"""

import math
import struct
import zlib
from pathlib import Path

BLUE = (37, 99, 235)
WHITE = (255, 255, 255)
# The chart line, in units of the tile (0..1), y downwards.
LINE = [(0.2, 0.68), (0.38, 0.5), (0.52, 0.6), (0.8, 0.3)]


def _segment_distance(px: float, py: float, a: tuple[float, float], b: tuple[float, float]) -> float:
    ax, ay = a
    bx, by = b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _pixel(x: float, y: float, radius: float, maskable: bool) -> tuple[int, int, int, int]:
    # Maskable icons fill the square (the platform crops); others are a rounded tile.
    if not maskable:
        cx = min(max(x, radius), 1 - radius)
        cy = min(max(y, radius), 1 - radius)
        if math.hypot(x - cx, y - cy) > radius:
            return (0, 0, 0, 0)
    scale = 0.8 if maskable else 1.0  # keep the line inside the maskable safe zone
    lx, ly = 0.5 + (x - 0.5) / scale, 0.5 + (y - 0.5) / scale
    d = min(_segment_distance(lx, ly, a, b) for a, b in zip(LINE, LINE[1:], strict=False))
    return (*WHITE, 255) if d < 0.045 else (*BLUE, 255)


def png(size: int, maskable: bool = False) -> bytes:
    rows = []
    for j in range(size):
        row = bytearray([0])
        for i in range(size):
            row.extend(_pixel((i + 0.5) / size, (j + 0.5) / size, 0.18, maskable))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


if __name__ == "__main__":
    out = Path(__file__).resolve().parents[1] / "public" / "icons"
    out.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        (out / f"icon-{size}.png").write_bytes(png(size))
    (out / "maskable-512.png").write_bytes(png(512, maskable=True))
    (out / "apple-touch-icon.png").write_bytes(png(180, maskable=True))

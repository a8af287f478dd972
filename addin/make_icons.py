"""Draw the add-in's icons (16, 32, 64, 80 px PNGs) with nothing but the standard library.

The glyph: Excel green rounded square, a faint sheet grid, and a rising white learning curve through
three nodes. Run ``python addin/make_icons.py`` to redraw ``sheetdl/data/addin/assets/icon-*.png``.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

SIZES = (16, 32, 64, 80, 128)
GREEN = (33, 115, 70)
WHITE = (255, 255, 255)
NODES = [(0.24, 0.72), (0.48, 0.52), (0.76, 0.28)]  # the curve, in units of the icon's width


def _seg_dist(px, py, ax, ay, bx, by):
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def _coverage(x: float, y: float) -> tuple[float, float, float]:
    """(inside the rounded square, grid line, curve) for a point in [0, 1]²."""
    r, m = 0.18, 0.02
    qx, qy = max(abs(x - 0.5) - (0.5 - m - r), 0), max(abs(y - 0.5) - (0.5 - m - r), 0)
    inside = math.hypot(qx, qy) <= r
    grid = any(abs(x - g) < 0.018 for g in (0.36, 0.64)) or any(abs(y - g) < 0.018 for g in (0.36, 0.64))
    d = min(_seg_dist(x, y, *NODES[i], *NODES[i + 1]) for i in range(len(NODES) - 1))
    curve = d < 0.055 or any(math.hypot(x - nx, y - ny) < 0.1 for nx, ny in NODES)
    return float(inside), float(grid and inside), float(curve and inside)


def render(size: int, ss: int = 4) -> bytes:
    rows = []
    for j in range(size):
        row = bytearray([0])  # filter type 0
        for i in range(size):
            acc = [0.0, 0.0, 0.0]
            for sj in range(ss):
                for si in range(ss):
                    c = _coverage((i + (si + 0.5) / ss) / size, (j + (sj + 0.5) / ss) / size)
                    acc = [a + b for a, b in zip(acc, c)]
            inside, grid, curve = (a / ss / ss for a in acc)
            white = min(1.0, curve + 0.3 * grid * (1 - curve))
            rgb = [round(g * (1 - white / max(inside, 1e-9)) + w * (white / max(inside, 1e-9)))
                   if inside else 0 for g, w in zip(GREEN, WHITE)]
            row += bytes(rgb + [round(255 * inside)])
        rows.append(bytes(row))
    return _png(size, size, b"".join(rows))


def _png(w: int, h: int, raw: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main() -> None:
    out = Path(__file__).resolve().parents[1] / "sheetdl" / "data" / "addin" / "assets"  # package data
    out.mkdir(exist_ok=True)
    for s in SIZES:
        (out / f"icon-{s}.png").write_bytes(render(s))


if __name__ == "__main__":
    main()

"""Write Switchboard's SVG icons, and the app PNGs packaging needs (run by hand; all committed).

    QT_QPA_PLATFORM=offscreen .venv/bin/python resources/icons/make_icons.py

The glyph is a patch cord shaped like an "S", plugged into a jack at each end: the switchboard
that connects your tools to your models. Two families, each in a light and a dark variant (named
after the background they are for: ``-light`` goes on light backgrounds, ``-dark`` on dark ones):

* ``app-{light,dark}``: the app icon (windows, the .deb, the wizard): a blue tile with a white
  cord. The dark variant is a lighter blue with a faint rim, so it does not sink into dark docks.
* ``tray-{running,paused,error}-{light,dark}``: symbolic tray icons, the tile in one ink that
  contrasts with the panel (near black on light panels, near white on dark ones) with the cord
  cut out of it. The state is a badge that differs in shape, not only colour: none when running,
  an amber pause badge when paused (also while starting or stopping), a red "!" when the gateway
  is down. The badge is set off from the tile by a cut-out ring.

Every icon comes twice: ``NAME.svg`` is drawn on a 64-unit grid for 24 px and up, and
``NAME-16.svg`` on a 16-unit grid with 2 px strokes on pixel edges, so 16 px (and 32 px at 200 %)
trays stay crisp instead of showing a blurred scaled-down drawing. ``desktop/resources.py`` picks
between them by the device pixels asked for.

The PNGs ``switchboard[-16|-32|-256].png`` (64 px without a suffix) are rendered from the light
app icon for packaging (``build.spec``, ``packaging/build-linux.sh``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent
VARIANTS = ("light", "dark")
STATES = ("running", "paused", "error")
APP_TILE = {"light": "#3478f0", "dark": "#4f8ef7"}
TRAY_INK = {"light": "#1f2430", "dark": "#eef1f5"}
BADGE = {"paused": ("#f0a020", "#1f2430"), "error": ("#e5484d", "#ffffff")}  # (disc, mark)
PNG_SIZES = (16, 32, 64, 256)


@dataclass(frozen=True)
class Grid:
    """Glyph geometry on one grid (16 or 64 units)."""

    size: int
    inset: float  # the tile's margin
    radius: float  # corner radius of the tile
    rows: tuple[float, float, float]  # y of the top, middle and bottom strokes
    left: float  # x where the left bend starts
    right: float  # x where the right bend starts
    ends: tuple[float, float]  # x of the top-right and bottom-left jacks
    jack_r: float
    cord: float
    badge: tuple[float, float, float]  # centre x = y, radius, cut-out ring width
    pause_bars: tuple[tuple[float, float, float, float], ...]
    bang: tuple[tuple[float, float, float, float], ...]  # the "!" as rectangles


SMALL = Grid(
    16, 0.5, 3.5, (4, 8, 12), 6, 10, (11.5, 4.5), 2.25, 2.0, (12, 4, 1),
    pause_bars=((10, 10, 1, 4), (13, 10, 1, 4)),
    bang=((11, 9, 2, 4), (11, 14, 2, 1)),
)  # fmt: skip
LARGE = Grid(
    64, 1, 14, (17, 32, 47), 25, 39, (46, 18), 6.5, 6.0, (50, 14, 2),
    pause_bars=((43.5, 43.5, 4.5, 13), (52, 43.5, 4.5, 13)),
    bang=((47.75, 41.5, 4.5, 10), (47.75, 54, 4.5, 4.5)),
)  # fmt: skip


def _n(v: float) -> str:
    return f"{v:g}"


def cord_path(g: Grid) -> str:
    """The S: along the top, round the left bend, along the middle, round the right bend, along the bottom."""
    top, mid, bottom = g.rows
    r = (mid - top) / 2
    return (
        f"M{_n(g.ends[0])} {_n(top)}H{_n(g.left)}A{_n(r)} {_n(r)} 0 0 0 {_n(g.left)} {_n(mid)}"
        f"H{_n(g.right)}A{_n(r)} {_n(r)} 0 0 1 {_n(g.right)} {_n(bottom)}H{_n(g.ends[1])}"
    )


def glyph(g: Grid, colour: str) -> str:
    """The cord and its two jacks in one colour."""
    top, _mid, bottom = g.rows
    return (
        f'<path d="{cord_path(g)}" fill="none" stroke="{colour}" stroke-width="{_n(g.cord)}" '
        'stroke-linecap="round" stroke-linejoin="round"/>'
        f'<circle cx="{_n(g.ends[0])}" cy="{_n(top)}" r="{_n(g.jack_r)}" fill="{colour}"/>'
        f'<circle cx="{_n(g.ends[1])}" cy="{_n(bottom)}" r="{_n(g.jack_r)}" fill="{colour}"/>'
    )


def tile(g: Grid, fill: str, extra: str = "") -> str:
    side = g.size - 2 * g.inset
    return (
        f'<rect x="{_n(g.inset)}" y="{_n(g.inset)}" width="{_n(side)}" height="{_n(side)}" '
        f'rx="{_n(g.radius)}" fill="{fill}"{extra}/>'
    )


def svg(g: Grid, body: str, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{g.size}" height="{g.size}" '
        f'viewBox="0 0 {g.size} {g.size}">\n<title>{title}</title>\n{body}\n</svg>\n'
    )


def app_icon(g: Grid, variant: str) -> str:
    body = tile(g, APP_TILE[variant]) + glyph(g, "#ffffff")
    if variant == "dark":  # a faint rim keeps the tile's edge visible on dark docks
        side = g.size - 2 * g.inset - g.size / 64
        rim = g.inset + g.size / 128
        body += (
            f'<rect x="{_n(rim)}" y="{_n(rim)}" width="{_n(side)}" height="{_n(side)}" rx="{_n(g.radius)}" '
            f'fill="none" stroke="#ffffff" stroke-opacity="0.35" stroke-width="{_n(g.size / 64)}"/>'
        )
    return svg(g, body, f"Switchboard ({variant} background)")


def tray_icon(g: Grid, state: str, variant: str) -> str:
    """The ink tile with the cord (and the badge's ring) cut out through a mask, plus the badge."""
    c, r, ring = g.badge
    holes = glyph(g, "#000000")
    if state != "running":
        holes += f'<circle cx="{_n(c)}" cy="{_n(c)}" r="{_n(r + ring)}" fill="#000000"/>'
    mask = (
        f'<defs><mask id="cut" maskUnits="userSpaceOnUse" x="0" y="0" width="{g.size}" height="{g.size}">'
        f'<rect width="{g.size}" height="{g.size}" fill="#ffffff"/>{holes}</mask></defs>'
    )
    body = mask + tile(g, TRAY_INK[variant], ' mask="url(#cut)"')
    if state != "running":
        disc, mark = BADGE[state]
        body += f'<circle cx="{_n(c)}" cy="{_n(c)}" r="{_n(r)}" fill="{disc}"/>'
        for x, y, w, h in g.pause_bars if state == "paused" else g.bang:
            body += f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" fill="{mark}"/>'
    return svg(g, body, f"Switchboard {state} ({variant} panel)")


def icons() -> dict[str, str]:
    """File name -> SVG text, for every icon on both grids."""
    out: dict[str, str] = {}
    for g, suffix in ((LARGE, ""), (SMALL, "-16")):
        for variant in VARIANTS:
            out[f"app-{variant}{suffix}.svg"] = app_icon(g, variant)
            for state in STATES:
                out[f"tray-{state}-{variant}{suffix}.svg"] = tray_icon(g, state, variant)
    return out


def png_name(size: int) -> str:
    return "switchboard.png" if size == 64 else f"switchboard-{size}.png"


def main() -> None:
    for name, text in icons().items():
        (HERE / name).write_text(text, encoding="utf-8")
    sys.path.insert(0, str(HERE.parents[1]))
    from PySide6.QtGui import QGuiApplication

    from desktop.resources import render

    app = QGuiApplication(sys.argv)  # noqa: F841 - rendering needs a GUI application
    for size in PNG_SIZES:
        render("app", "light", size).save(str(HERE / png_name(size)))


if __name__ == "__main__":
    main()

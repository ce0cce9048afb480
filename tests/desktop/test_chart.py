"""The chart widget and the number formats: round ticks, money never in scientific notation,
series checked against the buckets, the hover text, and a dark palette."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QPalette

from desktop.widgets.chart import ChartWidget, Series, nice_ticks, series_color
from desktop.widgets.formats import count, duration, money, money_axis


def test_ticks_are_round_and_cover_the_top() -> None:
    assert nice_ticks(27) == [0, 10, 20, 30]
    assert nice_ticks(0.013) == pytest.approx([0, 0.005, 0.01, 0.015])
    assert nice_ticks(0) == [0.0, 1.0]


def test_count_axes_have_whole_ticks(qtbot) -> None:
    """Two requests at most: the axis reads 0, 1, 2, not 0, 0.5, 1, 1.5, 2 shown as "0, 0, 1, 2, 2"."""
    assert nice_ticks(2, whole=True) == [0, 1, 2]
    assert nice_ticks(3, whole=True) == [0, 1, 2, 3]
    assert nice_ticks(0.4, whole=True) == [0, 1]
    assert nice_ticks(9, whole=True) == [0, 5, 10]  # never a step of 2.5
    assert nice_ticks(90, whole=True) == [0, 25, 50, 75, 100]
    assert nice_ticks(2) == [0, 0.5, 1, 1.5, 2]  # other axes keep fractional steps
    chart = ChartWidget("Requests", count, whole=True)
    qtbot.addWidget(chart)
    chart.set_data([0.0, 60.0], 60, [Series("Answered", (1.0, 2.0), kind="bar")])
    ticks = chart.ticks()
    assert ticks == [0, 1, 2] and all(t == int(t) for t in ticks)
    assert [count(t) for t in ticks] == ["0", "1", "2"]  # every label different


def test_the_dashboard_count_charts_are_whole(qtbot, bridge) -> None:
    from desktop.windows.dashboard import DashboardPage

    page = DashboardPage(bridge)
    qtbot.addWidget(page)
    assert page.charts["requests"].whole and page.charts["tokens"].whole
    assert not page.charts["latency"].whole and not page.charts["cost"].whole


def test_money_and_durations_read_plainly() -> None:
    assert [money(v) for v in (0, 0.000013, 0.0061, 0.087, 22.58, None)] == [
        "$0.00", "$0.000013", "$0.0061", "$0.087", "$22.58", "price unknown",
    ]  # fmt: skip
    assert [money_axis(v) for v in (0, 0.0025, 0.01, 1.5)] == ["$0", "$0.0025", "$0.01", "$1.50"]
    assert [duration(v) for v in (None, 12.4, 1530, 90_000)] == ["–", "12 ms", "1.5 s", "1.5 min"]


def test_series_must_match_the_buckets_and_hover_names_them(qtbot) -> None:
    chart = ChartWidget("Requests")
    qtbot.addWidget(chart)
    with pytest.raises(ValueError):
        chart.set_data([0.0, 60.0], 60, [Series("ok", (1.0,))])
    chart.set_data([0.0, 60.0], 60, [Series("ok", (1.0, 4.0), kind="bar"), Series("p50", (None, 2.0))])
    assert chart.tooltip_text(0).splitlines()[1:] == ["ok: 1", "p50: –"]
    assert "max 4" in chart.accessibleDescription()


def test_dark_palette_gets_lighter_series_and_paints(qtbot) -> None:
    chart = ChartWidget("Tokens")
    qtbot.addWidget(chart)
    dark = QPalette(chart.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    dark.setColor(QPalette.ColorRole.Window, QColor("#2b2b2b"))
    dark.setColor(QPalette.ColorRole.WindowText, QColor("#eeeeee"))
    light = chart.palette()
    assert series_color(dark, "blue").lightnessF() > series_color(light, "blue").lightnessF()
    chart.setPalette(dark)
    chart.resize(400, 220)
    chart.set_data([0.0, 60.0, 120.0], 60, [Series("In", (3.0, 5.0, 2.0), "teal", "bar")])
    image = chart.grab().toImage()
    teal = series_color(dark, "teal")

    def near(c: QColor) -> bool:
        return abs(c.red() - teal.red()) + abs(c.green() - teal.green()) + abs(c.blue() - teal.blue()) < 12

    pixels = [QColor(image.pixel(x, y)) for x in range(0, image.width(), 3) for y in range(0, image.height(), 3)]
    assert sum(map(near, pixels)) > 50  # the bars, in the dark palette's teal
    assert QColor(image.pixel(200, 100)).lightnessF() < 0.5 or near(QColor(image.pixel(200, 100)))  # a dark card

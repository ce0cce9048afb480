"""Dashboard: real requests through a real gateway (the demo provider and a priced fake upstream)
show up in the charts, the breakdown and the budget bars; ranges switch; new rows refresh the page
while it is visible, debounced, and not while it is hidden."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtGui import QColor

from desktop.widgets.chart import series_color
from desktop.windows.dashboard import TABLE_COLUMNS, DashboardPage
from tests.desktop import priced as fixtures
from tests.desktop.conftest import in_worker, post_chat
from tests.desktop.priced import DAILY_USD, MONTHLY_USD

priced, upstream = fixtures.priced, fixtures.upstream  # the fixtures, for the tests of this module


def send_all(qtbot, bridge, models: list[str]) -> list:
    """Send one chat per model at once (worker threads); wait for every log row; return them."""
    logged: list = []
    bridge.request_logged.connect(logged.append)
    errors: list[Exception] = []

    def call(model: str) -> None:
        try:
            post_chat(bridge.base_url, model)
        except Exception as exc:  # an unknown model answers 404: that is part of the traffic
            errors.append(exc)

    workers = [in_worker(call, m) for m in models]
    qtbot.waitUntil(lambda: len(logged) == len(models), timeout=15000)
    for w in workers:
        w.join(10)
    bridge.request_logged.disconnect(logged.append)
    return logged


def shown(qtbot, bridge) -> DashboardPage:
    page = DashboardPage(bridge)
    qtbot.addWidget(page)
    page.resize(1000, 900)
    with qtbot.waitSignal(page.loaded, timeout=10000):
        page.show()  # a page shown for the first time loads at once
    return page


def test_charts_breakdown_and_budgets_follow_the_requests(qtbot, priced) -> None:
    page = shown(qtbot, priced)
    assert page.data is not None and page.data.total.requests == 0
    records = send_all(qtbot, priced, ["demo", "demo", "demo", "gpt-4o-mini", "gpt-4o-mini", "no-such-model"])
    qtbot.waitUntil(lambda: page.data.total.requests == 6, timeout=10000)  # refreshed by request_logged

    paid = [r for r in records if r.route == "gpt-4o-mini"]
    assert len(paid) == 2 and all(r.cost and r.cost > 0 for r in paid)
    cost = sum(r.cost for r in paid)
    tokens_in = sum(r.tokens_in or 0 for r in records)
    tokens_out = sum(r.tokens_out or 0 for r in records)

    charts = page.charts
    by_name = {s.name: s for s in charts["requests"].series}
    assert sum(by_name["Answered"].values) == 5 and sum(by_name["Refused"].values) == 1
    assert sum(by_name["Failed"].values) == 0
    assert len(charts["requests"].starts) == 60 and charts["requests"].bucket_seconds == 60
    tokens = {s.name: s for s in charts["tokens"].series}
    assert sum(tokens["In"].values) == tokens_in > 0 and sum(tokens["Out"].values) == tokens_out > 0
    assert sum(v for v in charts["cost"].series[0].values if v) == pytest.approx(cost)
    p50 = [v for v in charts["latency"].series[0].values if v is not None]
    assert p50 and all(v > 0 for v in p50)
    assert page.cards["requests"].value.text() == "6"

    routes = {page.by_route.item(r, 0).text(): page.by_route.item(r, 1).text() for r in range(page.by_route.rowCount())}
    assert routes == {"demo": "3", "gpt-4o-mini": "2", "(no route)": "1"}
    providers = [page.by_provider.item(r, 0).text() for r in range(page.by_provider.rowCount())]
    assert providers[:2] == ["demo", "openai"]

    bars = {(row.line.label, row.line.period): row for row in page.budget_rows}
    assert set(bars) == {("route gpt-4o-mini", "day"), ("route gpt-4o-mini", "month")}
    day, month = bars["route gpt-4o-mini", "day"], bars["route gpt-4o-mini", "month"]
    assert day.line.spent == pytest.approx(cost) and month.line.spent == pytest.approx(cost)
    assert day.bar.value() == min(1000, round(cost / DAILY_USD * 1000)) > 0
    assert month.bar.value() == min(1000, round(cost / MONTHLY_USD * 1000)) > 0
    assert not page.no_budget.isVisible()

    # the chart really painted its bars: the "Answered" colour is on the grabbed image
    image = charts["requests"].grab().toImage()
    blue = series_color(charts["requests"].palette(), "blue")

    def is_blue(x: int, y: int) -> bool:
        c = QColor(image.pixel(x, y))
        return abs(c.red() - blue.red()) + abs(c.green() - blue.green()) + abs(c.blue() - blue.blue()) < 30

    assert charts["requests"].paint_count > 0
    assert any(is_blue(x, y) for x in range(0, image.width(), 2) for y in range(0, image.height(), 2))


def test_range_switch_reloads_with_its_buckets(qtbot, priced) -> None:
    send_all(qtbot, priced, ["demo", "demo"])
    page = shown(qtbot, priced)
    assert page.data.range.key == "hour" and page.data.total.requests == 2
    month = next(b for b in page.range_buttons.buttons() if b.property("range") == "month")
    with qtbot.waitSignal(page.loaded, timeout=10000):
        month.click()
    chart = page.charts["requests"]
    assert page.data.range.key == "month" and month.isChecked()
    assert len(chart.starts) == 30 and chart.bucket_seconds == 86400
    answered = chart.series[0].values
    assert answered[-1] == 2 and sum(answered) == 2  # today is the newest bucket
    with qtbot.waitSignal(page.loaded, timeout=10000):
        page.set_range("day")
    assert len(page.charts["requests"].starts) == 24 and page.data.total.requests == 2


def test_refresh_is_debounced_while_visible_and_skipped_while_hidden(qtbot, priced) -> None:
    page = shown(qtbot, priced)
    page.hide()
    before = page.refreshes
    send_all(qtbot, priced, ["demo"])
    qtbot.wait(300)
    assert page.refreshes == before and page.is_stale  # hidden: nothing read
    with qtbot.waitSignal(page.loaded, timeout=10000):
        page.show()  # catches up when shown
    assert page.data.total.requests == 1

    before = page.refreshes
    loaded: list[int] = []
    page.loaded.connect(lambda: loaded.append(page.data.total.requests))
    send_all(qtbot, priced, ["demo"] * 6)
    qtbot.waitUntil(lambda: bool(loaded) and loaded[-1] == 7, timeout=10000)
    assert page.refreshes - before <= 2  # six rows, one or two reads (at most one per 2 s)


def test_no_budgets_says_how_to_set_one(qtbot, started) -> None:
    page = shown(qtbot, started)
    assert page.budget_rows == [] and page.no_budget.isVisibleTo(page)
    assert page.spent_today.text() == "$0.00"
    assert threading.current_thread() is threading.main_thread()


def test_the_cost_says_price_unknown_when_no_price_is_known(qtbot, bridge, tmp_path) -> None:
    from proxy.api.dashboard import load
    from proxy.domain.records import RequestRecord
    from proxy.storage.request_log import RequestLog

    path = tmp_path / "log.db"
    log = RequestLog(path)
    log.start()
    try:
        now = time.time()
        for i in range(2):  # an upstream model with no price: tokens counted, cost unknown (None)
            log.submit(
                RequestRecord(
                    id=f"u{i}", started_at=now - 20 + i, surface="chat", status="ok", http_status=200,
                    route="mystery", provider="openai", tokens_in=100, tokens_out=20, cost=None,
                )
            )  # fmt: skip
        assert log.flush(10)
        page = DashboardPage(bridge)
        qtbot.addWidget(page)
        page.show_data(load(path, None, "hour", now))
        assert page.cards["cost"].value.text() == "price unknown"  # not "$0.00", which reads as free
        assert page.cards["requests"].value.text() == "2"
        cost_column = TABLE_COLUMNS.index("Cost")
        assert (
            page.by_route.item(0, 0).text() == "mystery"
            and page.by_route.item(0, cost_column).text() == "price unknown"
        )
        log.submit(
            RequestRecord(
                id="d0", started_at=now - 5, surface="chat", status="ok", http_status=200,
                route="demo", provider="demo", tokens_in=5, tokens_out=5, cost=0.0,
            )
        )  # fmt: skip
        assert log.flush(10)
        page.show_data(load(path, None, "hour", now))
        assert page.cards["cost"].value.text() == "$0.00"  # one known price (the free demo): the sum is known
    finally:
        log.close()

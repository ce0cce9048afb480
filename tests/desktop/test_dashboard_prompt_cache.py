"""Dashboard: the breakdown's "Prompt cache" column shows what the providers' prompt caches saved per
route and per provider (read model: ``proxy.api.dashboard.prompt_cache_savings``), from real log rows."""

from __future__ import annotations

import time

import pytest
from genai_prices import Usage, calc_price

from desktop.widgets.formats import money
from desktop.windows.dashboard import TABLE_COLUMNS, DashboardPage
from proxy.api.dashboard import load
from proxy.config.schema import GatewayConfig
from proxy.domain.records import RequestRecord
from proxy.storage.request_log import RequestLog

CONFIG = GatewayConfig.model_validate(
    {
        "providers": [{"id": "claude", "preset": "anthropic", "key": {"env": "SB_UNUSED"}}],
        "routes": [{"name": "sonnet", "targets": [{"provider": "claude", "model": "claude-sonnet-4-5"}]}],
    }
)


def _price(tokens_in: int, cached: int | None, written: int | None) -> float:
    usage = Usage(input_tokens=tokens_in, output_tokens=0, cache_read_tokens=cached, cache_write_tokens=written)
    return float(calc_price(usage, model_ref="claude-sonnet-4-5", provider_id="anthropic").total_price)


def test_the_prompt_cache_column_shows_what_caching_saved(qtbot, bridge, tmp_path) -> None:
    path = tmp_path / "log.db"
    log = RequestLog(path)
    log.start()
    try:
        now = time.time()
        rows = [  # a write, two reads of the same 5,000-token prefix, and a request that cached nothing
            (5200, None, 5000),
            (5300, 5000, None),
            (5400, 5000, None),
            (300, None, None),
        ]
        for i, (tokens_in, cached, written) in enumerate(rows):
            log.submit(
                RequestRecord(
                    id=f"r{i}", started_at=now - 30 + i, surface="chat", status="ok", http_status=200,
                    route="sonnet", provider="claude", upstream_model="claude-sonnet-4-5",
                    tokens_in=tokens_in, tokens_out=10, tokens_cached=cached, tokens_cache_write=written, cost=0.01,
                )
            )  # fmt: skip
        assert log.flush(10)
        data = load(path, CONFIG, "hour", now)
        saved = sum(_price(t, None, None) - _price(t, c, w) for t, c, w in rows[:3])
        assert saved > 0  # two reads at a tenth of the price outweigh one write at 1.25 times
        assert data.prompt_cache_saved["sonnet"] == pytest.approx(saved, rel=1e-3)

        page = DashboardPage(bridge)
        qtbot.addWidget(page)
        page.show_data(data)
        column = TABLE_COLUMNS.index("Prompt cache")
        assert page.by_route.horizontalHeaderItem(column).text() == "Prompt cache"
        assert page.by_route.item(0, 0).text() == "sonnet"
        assert page.by_route.item(0, column).text() == money(data.prompt_cache_saved["sonnet"])
        assert page.by_provider.item(0, column).text() == money(data.prompt_cache_saved_by_provider["claude"])
        page.show_data(load(path, None, "hour", now))  # no config: no prices to say it with
        assert page.by_route.item(0, column).text() == "–"
    finally:
        log.close()

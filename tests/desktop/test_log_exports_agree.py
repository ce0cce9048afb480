"""The three exports of the request log agree: ``switchboard logs --csv``, ``logs --json`` and the
log page's CSV / JSON Lines export carry the same rows and columns, and none carries the bodies."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from desktop.models.log_export import export
from proxy.cli.main import main
from tests.helpers import gateway_context

CONFIG = {
    "providers": [{"id": "demo", "preset": "demo"}],
    "routes": [{"name": "fast", "targets": [{"provider": "demo", "model": "echo"}]}],
    "logging": {"store_bodies": True},
}


async def test_the_three_log_exports_agree_and_leave_bodies_out(tmp_path: Path, capsys) -> None:
    async with gateway_context(tmp_path, CONFIG) as gw:
        client = gw.openai()
        for text in ("one", 'two, "quoted"'):
            await client.chat.completions.create(model="fast", messages=[{"role": "user", "content": text}])
        records = gw.rows()
    assert all(r.request_body for r in records)  # bodies are in the database...
    capsys.readouterr()
    main(["logs", "--csv", "--home", str(tmp_path)])
    cli_csv = capsys.readouterr().out
    main(["logs", "--json", "--home", str(tmp_path)])
    cli_json = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    export(records, tmp_path / "page.csv", "csv")
    export(records, tmp_path / "page.jsonl", "jsonl")
    page_json = [json.loads(line) for line in (tmp_path / "page.jsonl").read_text().splitlines()]
    assert "request_body" not in cli_csv.splitlines()[0]  # ...but in none of the exports
    assert list(csv.reader(io.StringIO(cli_csv))) == list(csv.reader((tmp_path / "page.csv").open()))
    assert sorted(cli_json, key=lambda r: r["id"]) == sorted(page_json, key=lambda r: r["id"])
    assert all("request_body" not in r and "response_body" not in r for r in cli_json)

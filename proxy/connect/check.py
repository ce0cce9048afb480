"""Check a connected tool: send the request that tool really sends, through the running gateway.

Claude Code speaks Anthropic Messages (streamed, with its system blocks and its own model names,
main and background), Codex the Responses API, aider/Continue/opencode Chat Completions. The
answer is ✓ or what is wrong, for people. Blocking (the network, bounded by ``timeout``): call it
from a worker thread.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from proxy.connect.docs import ConnectError
from proxy.connect.tools import Connection, ToolSetup

CHECK_TIMEOUT = 30.0
PROMPT = "Reply with the single word OK."


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str
    """✓ and who answered, or what is wrong and what to do (never a key)."""
    seconds: float = 0.0


def _request(tool: ToolSetup, model: str) -> tuple[str, dict[str, object], dict[str, str]]:
    if tool.check == "messages":
        body: dict[str, object] = {
            "model": model,
            "max_tokens": 32,
            "stream": True,
            "system": [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": PROMPT}]}],
            "metadata": {"user_id": "switchboard-connect-check"},
        }
        headers = {"anthropic-version": "2023-06-01", "x-app": "cli", "user-agent": "claude-cli (switchboard check)"}
        return "/v1/messages", body, headers
    if tool.check == "responses":
        body = {
            "model": model,
            "instructions": "You are Codex, a coding agent.",
            "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": PROMPT}]}],
            "stream": True,
            "store": False,
            "parallel_tool_calls": False,
        }
        return "/v1/responses", body, {"user-agent": "codex_cli_rs (switchboard check)", "originator": "codex_cli_rs"}
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 32, "stream": False}
    return "/v1/chat/completions", body, {"user-agent": f"{tool.id} (switchboard check)"}


def _error_text(status: int, raw: bytes) -> str:
    try:
        data = json.loads(raw)
        error = data.get("error", data) if isinstance(data, dict) else {}
        message = error.get("message") if isinstance(error, dict) else None
    except ValueError:
        message = None
    return str(message or raw[:200].decode("utf-8", "replace") or f"HTTP {status}")


def _advice(status: int, model: str, raw: bytes) -> str:
    if status == 401 and b"access key" in raw:  # Switchboard's own refusal, not a provider's
        return " Make a key in Settings → New key, then Update this tool."
    if status == 404 and b"Provider '" not in raw:  # no route, not an upstream's unknown model
        return f" No route takes {model!r}: Apply offers one, or add it on the Routing page."
    return ""


def _one(tool: ToolSetup, conn: Connection, model: str, timeout: float) -> str | None:
    """``None`` when ``model`` was answered, else what is wrong."""
    url = urlsplit(conn.base_url)
    if url.hostname is None:
        raise ConnectError(f"{conn.base_url} is not an address.")
    path, body, headers = _request(tool, model)
    headers = {**headers, "content-type": "application/json", "authorization": f"Bearer {conn.access_key}"}
    client = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=timeout)
    try:
        client.request("POST", path, json.dumps(body).encode(), headers)
        response = client.getresponse()
        raw = response.read()
    except OSError as exc:
        return f"Nothing answers at {conn.base_url} ({type(exc).__name__}): is Switchboard running?"
    finally:
        client.close()
    if response.status != 200:
        problem = _error_text(response.status, raw).rstrip(".")
        return f"{model}: {response.status} {problem}.{_advice(response.status, model, raw)}"
    if body.get("stream"):
        end = b"message_stop" if tool.check == "messages" else b"response.completed"
        if b"event: error" in raw or b"response.failed" in raw:
            said = raw.split(b"error", 1)[1][:200].decode("utf-8", "replace")
            return f"{model}: the stream ended with an error: {said}"
        if end not in raw:
            return f"{model}: the stream ended before the answer was complete."
    return None


def check(tool: ToolSetup, conn: Connection, timeout: float = CHECK_TIMEOUT) -> CheckResult:
    """Send ``tool``'s request shape for each model it asks for (never raises)."""
    if not conn.access_key:
        return CheckResult(False, "There is no access key to send: make one in Settings → New key.")
    started = time.perf_counter()
    models = tool.check_models or (conn.model,)
    try:
        for model in models:
            problem = _one(tool, conn, model, timeout)
            if problem is not None:
                return CheckResult(False, problem, time.perf_counter() - started)
    except (ConnectError, http.client.HTTPException) as exc:
        return CheckResult(False, f"{type(exc).__name__}: {exc}", time.perf_counter() - started)
    took = time.perf_counter() - started
    shape = {"messages": "Messages", "responses": "Responses", "chat": "Chat Completions"}[tool.check]
    return CheckResult(True, f"✓ {tool.name} works: {shape} for {', '.join(models)} answered in {took:.1f} s.", took)

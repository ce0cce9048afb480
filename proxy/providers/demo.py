"""The built-in demo provider: no key, no network, deterministic.

It makes Switchboard useful in its first minute and gives tests and benchmarks a realistic
upstream. It speaks exactly what an OpenAI-compatible upstream sends: ``chat.completion``
objects, ``chat.completion.chunk`` streams (role chunk, content chunks at a configurable pace,
finish chunk, optional usage chunk, ``[DONE]``), tool calls when tools are given, usage numbers
and embeddings (hashed bag-of-words vectors, so similar texts get similar vectors).

Models: ``echo`` (chat) and ``embed`` (embeddings).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import re
import struct
import time
import uuid
from collections.abc import AsyncGenerator
from typing import Any

import orjson

from proxy.config.schema import DemoSettings, ProviderConfig
from proxy.domain.errors import UpstreamHTTPError, UpstreamUnsupported
from proxy.providers.base import UpstreamCall, UpstreamReply
from proxy.support.sse import SSEEvent

CHAT_MODELS = ("echo",)
EMBEDDING_MODELS = ("embed",)
EMBEDDING_DIMENSIONS = 256
_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_WORD_RE = re.compile(r"\S+\s*")


def count_tokens(text: str) -> int:
    """A deterministic stand-in for a tokenizer: words and punctuation marks."""
    return len(_TOKEN_RE.findall(text))


def message_text(content: Any) -> str:
    """The text of a message's ``content`` (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _prompt_tokens(messages: list[Any]) -> int:
    total = 0
    for m in messages:
        if isinstance(m, dict):
            total += 4 + count_tokens(message_text(m.get("content")))  # per-message overhead, like the real thing
    return total + 3


class DemoAdapter:
    """The demo provider."""

    supports_stream_usage = True
    native: frozenset[str] = frozenset()

    def __init__(self, config: ProviderConfig) -> None:
        self.id = config.id
        self.settings = config.demo or DemoSettings()

    async def close(self) -> None:
        return None

    async def list_models(self) -> list[str]:
        return [*CHAT_MODELS, *EMBEDDING_MODELS]

    async def call(self, call: UpstreamCall) -> UpstreamReply:
        if call.endpoint not in ("chat/completions", "embeddings"):
            raise UpstreamUnsupported(self.id, f"the demo provider has no {call.endpoint} endpoint")
        model = call.body.get("model")
        if call.endpoint == "embeddings":
            self._check_model(model, EMBEDDING_MODELS, "embeddings")
            body = orjson.dumps(self._embeddings(call.body))
            return UpstreamReply(200, body=body, json=orjson.loads(body))
        self._check_model(model, CHAT_MODELS, "chat completions")
        plan = _Plan.make(call.body)
        if call.stream:
            return UpstreamReply(200, events=self._stream(call.body, plan))
        body = orjson.dumps(self._completion(call.body, plan))
        return UpstreamReply(200, body=body, json=orjson.loads(body))

    def _check_model(self, model: Any, allowed: tuple[str, ...], what: str) -> None:
        if model in allowed:
            return
        if model in (*CHAT_MODELS, *EMBEDDING_MODELS):
            raise UpstreamHTTPError(
                self.id, 400, f"The demo model {model!r} does not support {what}; use one of {list(allowed)}."
            )
        raise UpstreamHTTPError(
            self.id,
            404,
            f"The model `{model}` does not exist. The demo provider has: {[*CHAT_MODELS, *EMBEDDING_MODELS]}.",
            code="model_not_found",
        )

    # -- chat ----------------------------------------------------------------------------------

    def _completion(self, body: dict[str, Any], plan: _Plan) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": plan.text, "refusal": None}
        if plan.tool_call is not None:
            message["content"] = None
            message["tool_calls"] = [plan.tool_call]
        choices = [
            {"index": i, "message": message, "logprobs": None, "finish_reason": plan.finish_reason}
            for i in range(plan.n)
        ]
        return {
            "id": plan.id,
            "object": "chat.completion",
            "created": plan.created,
            "model": body["model"],
            "choices": choices,
            "usage": plan.usage(),
            "system_fingerprint": "fp_switchboard_demo",
        }

    async def _stream(self, body: dict[str, Any], plan: _Plan) -> AsyncGenerator[SSEEvent, None]:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        head = {"id": plan.id, "object": "chat.completion.chunk", "created": plan.created, "model": body["model"]}
        head["system_fingerprint"] = "fp_switchboard_demo"
        pace = self.settings.pace_ms / 1000

        def event(choices: list[dict[str, Any]], usage: Any = None) -> SSEEvent:
            chunk = {**head, "choices": choices}
            if include_usage:
                chunk["usage"] = usage
            data = orjson.dumps(chunk)
            return SSEEvent(b"data: " + data + b"\n\n", data)

        def deltas(delta: dict[str, Any]) -> list[dict[str, Any]]:
            return [{"index": i, "delta": delta, "logprobs": None, "finish_reason": None} for i in range(plan.n)]

        yield event(deltas({"role": "assistant", "content": "" if plan.tool_call is None else None}))
        if plan.tool_call is None:
            words = _WORD_RE.findall(plan.text)
            step = self.settings.chunk_words
            for i in range(0, len(words), step):
                if pace:
                    await asyncio.sleep(pace)
                yield event(deltas({"content": "".join(words[i : i + step])}))
        else:
            call = plan.tool_call
            first = {"index": 0, "id": call["id"], "type": "function"}
            first["function"] = {"name": call["function"]["name"], "arguments": ""}
            yield event(deltas({"tool_calls": [first]}))
            args = call["function"]["arguments"]
            third = max(1, len(args) // 3)
            for i in range(0, len(args), third):
                if pace:
                    await asyncio.sleep(pace)
                yield event(deltas({"tool_calls": [{"index": 0, "function": {"arguments": args[i : i + third]}}]}))
        finish: list[dict[str, Any]] = [
            {"index": i, "delta": {}, "logprobs": None, "finish_reason": plan.finish_reason} for i in range(plan.n)
        ]
        yield event(finish)
        if include_usage:
            yield event([], plan.usage())
        yield SSEEvent(b"data: [DONE]\n\n", b"[DONE]")

    # -- embeddings ----------------------------------------------------------------------------

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        raw = body.get("input")
        items: list[Any] = raw if isinstance(raw, list) and raw and not isinstance(raw[0], int) else [raw]
        asked = body.get("dimensions")
        dims = max(1, min(asked if isinstance(asked, int) else EMBEDDING_DIMENSIONS, 4096))
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        tokens = 0
        for index, item in enumerate(items):
            text = item if isinstance(item, str) else " ".join(str(t) for t in item)
            tokens += count_tokens(text) if isinstance(item, str) else len(item)
            vector = embed(text, dims)
            value: Any = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode() if as_base64 else vector
            data.append({"object": "embedding", "index": index, "embedding": value})
        return {
            "object": "list",
            "data": data,
            "model": body.get("model"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


def embed(text: str, dims: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """Hashed bag-of-words vector, unit length (all zeros for empty text)."""
    vector = [0.0] * dims
    for token in _TOKEN_RE.findall(text.lower()):
        h = hashlib.blake2b(token.encode(), digest_size=8).digest()
        bucket = int.from_bytes(h[:4], "little") % dims
        vector[bucket] += 1.0 if h[4] & 1 else -1.0
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else vector


class _Plan:
    """What the demo model will answer to one chat request."""

    __slots__ = ("id", "created", "n", "text", "tool_call", "finish_reason", "prompt_tokens", "completion_tokens")
    id: str
    created: int
    n: int
    text: str
    tool_call: dict[str, Any] | None
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int

    @classmethod
    def make(cls, body: dict[str, Any]) -> _Plan:
        plan = cls()
        plan.id = f"chatcmpl-demo{uuid.uuid4().hex[:20]}"
        plan.created = int(time.time())
        n = body.get("n")
        plan.n = n if isinstance(n, int) and 1 <= n <= 16 else 1
        messages = body.get("messages") or []
        plan.prompt_tokens = _prompt_tokens(messages)
        # what to answer: the last turn that is not a system note (those may come mid-conversation)
        turns = [m for m in messages if isinstance(m, dict) and m.get("role") not in ("system", "developer")]
        last = turns[-1] if turns else {}
        said = message_text(last.get("content"))
        plan.tool_call = None
        plan.finish_reason = "stop"
        tools = body.get("tools")
        if last.get("role") == "tool":
            plan.text = f"The tool returned: {said[:500]}"
        elif tools and isinstance(tools, list) and _wants_tool(tools, body.get("tool_choice"), said):
            plan.tool_call = _tool_call(tools, body.get("tool_choice"), said)
            plan.text = ""
            plan.finish_reason = "tool_calls"
        else:
            words = len(said.split())
            fmt = body.get("response_format")
            if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
                plan.text = orjson.dumps({"echo": said[:500], "words": words, "characters": len(said)}).decode()
            else:
                plan.text = (
                    f'You said: "{said[:500]}" ({words} words, {len(said)} characters). '
                    "This is Switchboard's offline demo model; add a provider to talk to a real one."
                )
            plan._apply_limits(body)
        completion = plan.text or (plan.tool_call["function"]["arguments"] if plan.tool_call else "")
        plan.completion_tokens = count_tokens(completion) * plan.n
        return plan

    def _apply_limits(self, body: dict[str, Any]) -> None:
        stop = body.get("stop")
        for s in [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []:
            if isinstance(s, str) and s and s in self.text:
                self.text = self.text[: self.text.index(s)]
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        if isinstance(limit, int) and limit > 0 and count_tokens(self.text) > limit:
            kept, count = [], 0
            for word in _WORD_RE.findall(self.text):
                count += count_tokens(word)
                if count > limit:
                    break
                kept.append(word)
            self.text = "".join(kept)
            self.finish_reason = "length"

    def usage(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }


def _wants_tool(tools: list[Any], choice: Any, said: str) -> bool:
    """Call a tool when told to (``required`` or a named function), or, on ``auto``, when the user
    names one: a tool's name or a word of it (``get_weather`` -> "weather"), like a model would.
    Never on ``none``. (Calling one on every turn would send agents such as Claude Code round in
    circles.)"""
    if choice == "none":
        return False
    if choice == "required" or isinstance(choice, dict):
        return True
    words = set(re.findall(r"[a-z0-9]+", said.lower()))
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        name = str(function.get("name", "")) if isinstance(function, dict) else ""
        parts = {p for p in re.split(r"[_\-\s]+", name.lower()) if len(p) >= 4} | {name.lower()}
        if parts & words:
            return True
    return False


def _tool_call(tools: list[Any], choice: Any, said: str) -> dict[str, Any]:
    functions = [t["function"] for t in tools if isinstance(t, dict) and isinstance(t.get("function"), dict)]
    chosen = functions[0] if functions else {"name": "tool"}
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        wanted = choice["function"].get("name")
        chosen = next((f for f in functions if f.get("name") == wanted), chosen)
    params = chosen.get("parameters")
    params = params if isinstance(params, dict) else {}
    props = params.get("properties")
    props = props if isinstance(props, dict) else {}
    required = params.get("required")
    names = required if isinstance(required, list) else list(props)
    args: dict[str, Any] = {}
    for name in names:
        kind = props.get(name, {}).get("type") if isinstance(props.get(name), dict) else "string"
        enum = props.get(name, {}).get("enum") if isinstance(props.get(name), dict) else None
        if isinstance(enum, list) and enum:
            args[name] = enum[0]
        elif kind in ("integer", "number"):
            args[name] = len(said.split())
        elif kind == "boolean":
            args[name] = True
        elif kind == "array":
            args[name] = said.split()[:5]
        elif kind == "object":
            args[name] = {}
        else:
            args[name] = said[:200]
    return {
        "id": f"call_{hashlib.sha256(said.encode()).hexdigest()[:24]}",
        "type": "function",
        "function": {"name": str(chosen.get("name", "tool")), "arguments": orjson.dumps(args).decode()},
    }

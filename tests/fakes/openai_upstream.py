"""A scriptable fake of an OpenAI-compatible upstream, speaking OpenAI's exact JSON and SSE.

Used by gateway tests (in-process) and benchmarks (``python -m tests.fakes.openai_upstream``).
Each request to ``/v1/chat/completions`` or ``/v1/embeddings`` consumes one scripted behaviour
(:meth:`FakeOpenAIUpstream.script`); with none queued it answers normally. Behaviours cover the
failure modes a gateway must survive: error statuses in OpenAI's error shape, 429 with
``Retry-After``, garbage bodies, slow or hanging upstreams, and streams that end cleanly, stop
without ``[DONE]``, reset the connection, stall, or carry an in-band error event.

Wire formats follow ``shared/specs/openai-openapi.yaml`` (``CreateChatCompletionResponse``,
``CreateChatCompletionStreamResponse``, ``CreateEmbeddingResponse``, ``ListModelsResponse``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import itertools
import math
import struct
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

CREATED = 1_700_000_000
_ids = itertools.count(1)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    raw: bytes
    arrived_at: float


@dataclass
class Reply:
    """A custom non-stream answer: ``json`` or raw ``body``, or a normal completion with ``content``."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content: str | None = None


@dataclass
class OpenAIError:
    """An error in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | int | None = None
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def rate_limited(retry_after: float) -> OpenAIError:
    return OpenAIError(
        429,
        "Rate limit reached for gpt-4o-mini in organization org-fake on requests per min (RPM): Limit 3, Used 3, "
        "Requested 1.",
        type="requests",
        code="rate_limit_exceeded",
        headers={"retry-after": f"{retry_after:g}", "retry-after-ms": f"{retry_after * 1000:g}"},
    )


@dataclass
class Stream:
    """Stream ``chunks`` as content deltas; ``then`` says how the stream ends:
    ``done`` (finish chunk, usage if asked, ``[DONE]``), ``eof`` (stop cleanly with no finish and no
    ``[DONE]``), ``reset`` (abort the TCP connection), ``stall`` (hold the connection silently),
    ``error_event`` (an OpenRouter-style ``data: {"error": ...}`` event, then close)."""

    chunks: list[str] | None = None
    chunk_delay: float = 0.0
    first_delay: float = 0.0
    then: str = "done"
    tool_call: bool = False


@dataclass
class Hang:
    """Accept the request and never answer (until the client goes away)."""


Behaviour = Reply | OpenAIError | Stream | Hang


def _error_body(message: str, type_: str = "invalid_request_error", code: Any = None, param: Any = None) -> bytes:
    return orjson.dumps({"error": {"message": message, "type": type_, "param": param, "code": code}})


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _tokens(text: str) -> int:
    return max(1, len(text.split()))


class FakeOpenAIUpstream:
    """The fake server. ``async with FakeOpenAIUpstream() as fake: fake.base_url ...``"""

    def __init__(
        self,
        *,
        api_key: str | None = "sk-fake-upstream",
        models: list[str] | None = None,
        chunks: int = 5,
        chunk_delay: float = 0.0,
        port: int = 0,
        record: bool = True,
    ) -> None:
        self.api_key = api_key
        self.record = record
        """Keep every request in ``requests`` (off for long benchmark runs: memory stays flat)."""
        self.models = models or ["gpt-4o-mini", "text-embedding-3-small"]
        self.default_chunks = chunks
        self.default_chunk_delay = chunk_delay
        self.port = port
        self.requests: list[RecordedRequest] = []
        self.disconnects: list[float] = []
        self._script: deque[Behaviour] = deque()
        self._disconnected = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- control -------------------------------------------------------------------------------

    def script(self, *behaviours: Behaviour) -> None:
        self._script.extend(behaviours)

    def clear(self) -> None:
        self._script.clear()
        self.requests.clear()
        self.disconnects.clear()
        self._disconnected.clear()

    async def wait_disconnect(self, timeout: float) -> float:
        """Monotonic time at which a client went away mid-response."""
        await asyncio.wait_for(self._disconnected.wait(), timeout)
        return self.disconnects[-1]

    def _note_disconnect(self) -> None:
        self.disconnects.append(time.monotonic())
        self._disconnected.set()

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/v1/models", self._list_models)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeOpenAIUpstream:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- handlers ------------------------------------------------------------------------------

    async def _record(self, request: web.Request) -> tuple[RecordedRequest, web.Response | None]:
        raw = await request.read()
        try:
            parsed = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            parsed = None
        rec = RecordedRequest(request.method, request.path, dict(request.headers), parsed, raw, time.monotonic())
        if self.record:
            self.requests.append(rec)
        if self.api_key is not None:
            auth = request.headers.get("Authorization", "")
            if auth != f"Bearer {self.api_key}":
                presented = auth.removeprefix("Bearer ")
                shown = f"{presented[:3]}*****{presented[-4:]}" if len(presented) > 8 else "(none)"
                body = _error_body(
                    f"Incorrect API key provided: {shown}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    code="invalid_api_key",
                )
                return rec, web.Response(status=401, body=body, content_type="application/json")
        if raw and parsed is None:
            body = _error_body("We could not parse the JSON body of your request.")
            return rec, web.Response(status=400, body=body, content_type="application/json")
        return rec, None

    async def _list_models(self, request: web.Request) -> web.Response:
        rec, refused = await self._record(request)
        if refused is not None:
            return refused
        data = [{"id": m, "object": "model", "created": CREATED, "owned_by": "fake"} for m in self.models]
        return web.Response(body=orjson.dumps({"object": "list", "data": data}), content_type="application/json")

    async def _hang(self) -> web.Response:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self._note_disconnect()
            raise
        raise AssertionError("unreachable")

    async def _generic(self, behaviour: Behaviour) -> web.Response | None:
        """Answer for behaviours that do not depend on the endpoint."""
        delay = getattr(behaviour, "delay", 0.0)
        if delay:
            try:
                await asyncio.sleep(delay)
            except asyncio.CancelledError:
                self._note_disconnect()
                raise
        if isinstance(behaviour, Hang):
            return await self._hang()
        if isinstance(behaviour, OpenAIError):
            body = _error_body(behaviour.message, behaviour.type, behaviour.code, behaviour.param)
            return web.Response(
                status=behaviour.status, body=body, content_type="application/json", headers=behaviour.headers
            )
        if isinstance(behaviour, Reply) and (behaviour.json is not None or behaviour.body is not None):
            headers = {"Content-Type": "application/json", **behaviour.headers}
            body = orjson.dumps(behaviour.json) if behaviour.body is None else behaviour.body
            return web.Response(status=behaviour.status, body=body, headers=headers)
        return None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        rec, refused = await self._record(request)
        if refused is not None:
            return refused
        behaviour: Behaviour | None = self._script.popleft() if self._script else None
        if behaviour is not None:
            answered = await self._generic(behaviour)
            if answered is not None:
                return answered
        body = rec.json if isinstance(rec.json, dict) else {}
        model = body.get("model")
        if model not in self.models:
            message = f"The model `{model}` does not exist or you do not have access to it."
            return web.Response(
                status=404, body=_error_body(message, code="model_not_found"), content_type="application/json"
            )
        messages = body.get("messages") or []
        said = _text_of(messages[-1].get("content")) if messages and isinstance(messages[-1], dict) else ""
        content = f"Hello from fake upstream! You said: {said}"
        if isinstance(behaviour, Reply) and behaviour.content is not None:
            content = behaviour.content
        tools = body.get("tools")
        wants_tool = bool(tools) and body.get("tool_choice") != "none"
        if isinstance(behaviour, Stream) and behaviour.tool_call:
            wants_tool = True
        prompt_tokens = sum(_tokens(_text_of(m.get("content"))) for m in messages if isinstance(m, dict)) + 3
        if body.get("stream"):
            stream = behaviour if isinstance(behaviour, Stream) else Stream()
            return await self._stream_chat(request, body, stream, content, wants_tool, prompt_tokens, said)
        n = body.get("n") if isinstance(body.get("n"), int) else 1
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None, "annotations": []}
        finish = "stop"
        if wants_tool:
            message["content"] = None
            message["tool_calls"] = [self._tool_call(tools, said)]
            finish = "tool_calls"
        completion = {
            "id": f"chatcmpl-fake{next(_ids)}",
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "choices": [{"index": i, "message": message, "logprobs": None, "finish_reason": finish} for i in range(n)],
            "usage": _usage(prompt_tokens, _tokens(content) * n),
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }
        status = behaviour.status if isinstance(behaviour, Reply) else 200
        return web.Response(status=status, body=orjson.dumps(completion), content_type="application/json")

    @staticmethod
    def _tool_call(tools: Any, said: str) -> dict[str, Any]:
        name = "tool"
        if isinstance(tools, list) and tools and isinstance(tools[0], dict):
            name = tools[0].get("function", {}).get("name", "tool")
        return {
            "id": f"call_{hashlib.sha1(said.encode()).hexdigest()[:24]}",
            "type": "function",
            "function": {"name": name, "arguments": orjson.dumps({"q": said}).decode()},
        }

    async def _stream_chat(
        self,
        request: web.Request,
        body: dict[str, Any],
        stream: Stream,
        content: str,
        wants_tool: bool,
        prompt_tokens: int,
        said: str,
    ) -> web.StreamResponse:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and options.get("include_usage") is True
        head = {
            "id": f"chatcmpl-fake{next(_ids)}",
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": body.get("model"),
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }

        def event(choices: list[dict[str, Any]], usage: Any = None) -> bytes:
            chunk = {**head, "choices": choices}
            if include_usage:
                chunk["usage"] = usage
            return b"data: " + orjson.dumps(chunk) + b"\n\n"

        def delta(d: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
            return [{"index": 0, "delta": d, "logprobs": None, "finish_reason": finish}]

        if stream.chunks is not None:
            pieces = list(stream.chunks)
        else:
            words = content.split(" ")
            size = max(1, math.ceil(len(words) / self.default_chunks))
            pieces = [
                " ".join(words[i : i + size]) + (" " if i + size < len(words) else "")
                for i in range(0, len(words), size)
            ]
        chunk_delay = stream.chunk_delay or self.default_chunk_delay
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
        )
        try:
            if stream.first_delay:
                await asyncio.sleep(stream.first_delay)
            await response.prepare(request)
            finish = "stop"
            if wants_tool:
                call = self._tool_call(body.get("tools"), said)
                await response.write(event(delta({"role": "assistant", "content": None})))
                first = {
                    "index": 0,
                    "id": call["id"],
                    "type": "function",
                    "function": {"name": call["function"]["name"], "arguments": ""},
                }
                await response.write(event(delta({"tool_calls": [first]})))
                args = call["function"]["arguments"]
                for i in range(0, len(args), 4):
                    part = {"index": 0, "function": {"arguments": args[i : i + 4]}}
                    await response.write(event(delta({"tool_calls": [part]})))
                finish = "tool_calls"
                completion_tokens = _tokens(args)
            else:
                await response.write(event(delta({"role": "assistant", "content": "", "refusal": None})))
                for piece in pieces:
                    if chunk_delay:
                        await asyncio.sleep(chunk_delay)
                    await response.write(event(delta({"content": piece})))
                completion_tokens = _tokens("".join(pieces))
            if stream.then == "eof":
                await response.write_eof()
                return response
            if stream.then == "reset":
                if request.transport is not None:
                    request.transport.abort()
                return response
            if stream.then == "stall":
                return await self._hang()  # type: ignore[return-value]
            if stream.then == "error_event":
                payload = {
                    "error": {
                        "message": "The upstream model provider failed mid-stream.",
                        "type": "server_error",
                        "param": None,
                        "code": 502,
                    }
                }
                await response.write(b"data: " + orjson.dumps(payload) + b"\n\n")
                await response.write_eof()
                return response
            await response.write(event(delta({}, finish)))
            if include_usage:
                await response.write(event([], _usage(prompt_tokens, completion_tokens)))
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
            return response
        except (asyncio.CancelledError, ConnectionResetError):
            self._note_disconnect()
            raise

    async def _embeddings(self, request: web.Request) -> web.Response:
        rec, refused = await self._record(request)
        if refused is not None:
            return refused
        behaviour: Behaviour | None = self._script.popleft() if self._script else None
        if behaviour is not None:
            answered = await self._generic(behaviour)
            if answered is not None:
                return answered
        body = rec.json if isinstance(rec.json, dict) else {}
        raw = body.get("input")
        items = raw if isinstance(raw, list) and raw and not isinstance(raw[0], int) else [raw]
        dims = body.get("dimensions") if isinstance(body.get("dimensions"), int) else 8
        data, tokens = [], 0
        for index, item in enumerate(items):
            text = item if isinstance(item, str) else " ".join(map(str, item or []))
            tokens += _tokens(text)
            seed = hashlib.sha256(text.encode()).digest()
            vector = [((seed[i % 32] / 255.0) * 2 - 1) for i in range(dims)]
            value: Any = vector
            if body.get("encoding_format") == "base64":
                value = base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode()
            data.append({"object": "embedding", "index": index, "embedding": value})
        out = {
            "object": "list",
            "data": data,
            "model": body.get("model"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return web.Response(body=orjson.dumps(out), content_type="application/json")


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeOpenAIUpstream(
        api_key=args.api_key or None, chunks=args.chunks, chunk_delay=args.chunk_delay, port=args.port
    )
    url = await fake.start()
    print(f"fake upstream listening on {url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await fake.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI-compatible upstream")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default="sk-fake-upstream")
    parser.add_argument("--chunks", type=int, default=5)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.run(_serve(args))
        return
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main(sys.argv[1:])

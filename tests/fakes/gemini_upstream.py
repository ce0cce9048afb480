"""A scriptable fake of Google's Gemini API (v1beta), speaking its exact JSON, SSE and error shapes.

The counterpart of :mod:`tests.fakes.openai_upstream` and :mod:`tests.fakes.anthropic_upstream`
for the ``gemini`` provider. Base URL: ``http://127.0.0.1:PORT/v1beta``.

Endpoints (``shared/specs/gemini-v1beta-openapi.json``): ``POST models/{model}:generateContent``,
``:streamGenerateContent?alt=sse`` (``data: <GenerateContentResponse>`` events ending in CRLF CRLF,
the last with ``finishReason`` and the full ``usageMetadata``; no terminal event),
``:countTokens``, ``:embedContent``, ``:batchEmbedContents``; ``GET models`` and ``models/{model}``.

Auth as the real API: ``x-goog-api-key`` (or ``?key=``); none is 403 ``PERMISSION_DENIED``, a
wrong one 400 ``INVALID_ARGUMENT`` "API key not valid" with an ``ErrorInfo`` of reason
``API_KEY_INVALID``. Errors are ``{"error": {"code", "message", "status", "details"}}``;
:func:`resource_exhausted` carries ``RetryInfo.retryDelay``.

Each generate/count/embed request consumes one scripted behaviour (:meth:`FakeGeminiUpstream.script`):
``GeminiError``, ``Reply(json|body|content)``, ``Stream(...)``, ``Hang``, ``Delay``.

The normal answer is ``"Hello from fake Gemini! You said: <last user text>"``. With function
declarations it calls the first (or the one allowed) when ``toolConfig`` mode is ``ANY`` or the last
user text says "use tool"; every ``functionCall`` part it sends carries a ``thoughtSignature``, and
a later request that sends that call back without its signature is refused as Gemini 3 refuses it
(400, "Function call is missing a thought_signature"). ``responseMimeType: application/json``
with a schema answers JSON fitting it. ``thinkingConfig.includeThoughts`` adds a thought part.
Unknown request fields and JSON Schema keywords the ``Schema`` type lacks (in ``parameters`` /
``responseSchema``) are 400 "Invalid JSON payload received. Unknown name ...", as the real API.
``cached_tokens`` makes every answer report that many ``cachedContentTokenCount``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import os
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from aiohttp import web

from tests.fakes.openai_upstream import (
    Delay,
    Hang,
    Headers,
    RecordedRequest,
    Reply,
    _abort,
    _embedding,
    _example_object,
    _hard_reset,
    _resolve,
    _split,
    _tokens,
)

__all__ = [
    "Delay",
    "FakeGeminiUpstream",
    "GeminiError",
    "Hang",
    "Reply",
    "Stream",
    "invalid_argument",
    "permission_denied",
    "resource_exhausted",
    "unavailable",
]

DEFAULT_API_KEY = "AIzaSyFAKE-gemini-upstream-key-000000000"
DEFAULT_MODELS = ("gemini-2.5-flash", "gemini-2.5-pro", "text-embedding-004")
EMBEDDING_DIMS = 768
_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}
_STATUS |= {500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
REQUEST_FIELDS = frozenset(
    "contents tools toolConfig safetySettings systemInstruction generationConfig cachedContent model".split()
)
GENERATION_FIELDS = frozenset(
    (
        "stopSequences responseMimeType responseSchema responseJsonSchema responseModalities candidateCount "
        "maxOutputTokens temperature topP topK seed presencePenalty frequencyPenalty responseLogprobs logprobs "
        "enableEnhancedCivicAnswers speechConfig thinkingConfig imageConfig mediaResolution"
    ).split()
)
SCHEMA_FIELDS = frozenset(
    (
        "type format title description nullable enum maxItems minItems properties required minProperties "
        "maxProperties minLength maxLength pattern example anyOf propertyOrdering default items minimum maximum "
        "max_items min_items min_properties max_properties min_length max_length any_of property_ordering"
    ).split()
)
_SSE = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
_JSON = "application/json; charset=UTF-8"


@dataclass
class GeminiError:
    """An error in Google's shape: ``{"error": {"code", "message", "status", "details"}}``."""

    code: int
    message: str
    status: str | None = None
    details: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def resource_exhausted(retry_seconds: float, model: str = "gemini-2.5-flash") -> GeminiError:
    """Gemini's 429: a quota failure, and ``RetryInfo.retryDelay`` (there is no Retry-After header)."""
    delay = f"{retry_seconds:g}s"
    return GeminiError(
        429,
        f"You exceeded your current quota, please check your plan and billing details. Please retry in {delay}.",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                        "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                        "quotaDimensions": {"location": "global", "model": model},
                        "quotaValue": "10",
                    }
                ],
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [{"description": "Learn more", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay},
        ],
    )


def invalid_argument(message: str = "Request contains an invalid argument.") -> GeminiError:
    return GeminiError(400, message)


def permission_denied(message: str = "The caller does not have permission") -> GeminiError:
    return GeminiError(403, message)


def unavailable(message: str = "The model is overloaded. Please try again later.") -> GeminiError:
    return GeminiError(503, message)


def _error(code: int, message: str, status: str | None = None, details: list[dict[str, Any]] | None = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message, "status": status or _STATUS.get(code, "UNKNOWN")}
    if details:
        error["details"] = details
    return orjson.dumps({"error": error}, option=orjson.OPT_INDENT_2)


StreamEnding = Literal["done", "eof", "reset", "error_event"]


@dataclass
class Stream:
    """How to stream: ``chunks`` (default: the answer in the fake's ``chunks`` pieces), paced by
    ``chunk_delay``; ``then``: ``done`` (last chunk with finishReason), ``eof`` (the body ends with
    no finishReason), ``reset`` (TCP RST), ``error_event`` (``data: {"error": ...}``, then the end)."""

    chunks: list[str] | None = None
    chunk_delay: float = 0.0
    then: StreamEnding = "done"
    error: dict[str, Any] | None = None


Behaviour = GeminiError | Reply | Stream | Hang | Delay


def _lower_schema(schema: Any) -> Any:
    """A Gemini ``Schema`` with lowercase types (for the answer builder)."""
    if isinstance(schema, dict):
        return {k: (v.lower() if k == "type" and isinstance(v, str) else _lower_schema(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_lower_schema(v) for v in schema]
    return schema


def _unknown_schema_key(schema: Any, where: str) -> str | None:
    if not isinstance(schema, dict):
        return None
    for key, value in schema.items():
        if key not in SCHEMA_FIELDS:
            return f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': Cannot find field."
        nested = (
            value.values()
            if key == "properties" and isinstance(value, dict)
            else [value]
            if key == "items"
            else value
            if key == "anyOf" and isinstance(value, list)
            else ()
        )
        for sub in nested:
            if (problem := _unknown_schema_key(sub, where)) is not None:
                return problem
    return None


def _not_found_message(model: str, method: str) -> str:
    return (
        f"models/{model} is not found for API version v1beta, or is not supported for {method}. Call ListModels "
        "to see the list of available models and their supported methods."
    )


def _signature(name: str, args: Any) -> str:
    return base64.b64encode(
        b"sig:" + hashlib.sha256(name.encode() + orjson.dumps(args, option=orjson.OPT_SORT_KEYS)).digest()
    ).decode()


class FakeGeminiUpstream:
    """``async with FakeGeminiUpstream() as fake: ... fake.base_url ...`` (``.../v1beta``)."""

    def __init__(
        self,
        *,
        api_key: str | None = DEFAULT_API_KEY,
        models: Sequence[str] = DEFAULT_MODELS,
        chunks: int = 4,
        cached_tokens: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.models = list(models)
        self.default_chunks = chunks
        self.cached_tokens = cached_tokens
        self.host = host
        self.port = port
        self.base_url = ""
        self.requests: list[RecordedRequest] = []
        self.signatures: set[str] = set()
        """Thought signatures sent on ``functionCall`` parts (a call sent back must carry its own)."""
        self._script: deque[Behaviour] = deque()
        self._waiters: set[Any] = set()
        self._runner: web.AppRunner | None = None
        self._ids = itertools.count(1)
        self._prefix = os.urandom(6).hex()

    def script(self, *behaviours: Behaviour) -> None:
        self._script.extend(behaviours)

    @property
    def queued(self) -> int:
        return len(self._script)

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1beta/models/{model:[^:]+}:{method}", self._post)
        app.router.add_post("/v1/models/{model:[^:]+}:{method}", self._post)
        app.router.add_get("/v1beta/models", self._list_models)
        app.router.add_get("/v1/models", self._list_models)
        app.router.add_get("/v1beta/models/{model}", self._get_model)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.base_url = f"http://{self.host}:{self.port}/v1beta"
        return self.base_url

    async def close(self) -> None:
        for waiter in list(self._waiters):
            if not waiter.done():
                waiter.set_result(False)
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> FakeGeminiUpstream:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _wait(self, seconds: float | None) -> bool:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        timer = None if seconds is None else loop.call_later(seconds, _resolve, waiter)
        self._waiters.add(waiter)
        try:
            return await waiter
        finally:
            self._waiters.discard(waiter)
            if timer is not None:
                timer.cancel()

    # -- intake ----------------------------------------------------------------------------------

    def _respond(self, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        return web.Response(status=status, body=body, headers={"Content-Type": _JSON, **(headers or {})})

    def _refuse(self, code: int, message: str, details: list[dict[str, Any]] | None = None) -> web.Response:
        return self._respond(_error(code, message, details=details), code)

    async def _intake(self, request: web.Request) -> tuple[Any, web.Response | None]:
        arrived = time.monotonic()
        raw = await request.read()
        try:
            parsed = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            parsed = None
        self.requests.append(
            RecordedRequest(request.method, request.path_qs, Headers(request.headers.items()), parsed, raw, arrived)
        )
        if self.api_key is not None:
            key = request.headers.get("x-goog-api-key") or request.query.get("key")
            if not key:
                return parsed, self._refuse(
                    403,
                    "Method doesn't allow unregistered callers (callers without established identity). Please use "
                    "API Key or other form of API consumer identity to call this API.",
                )
            if key != self.api_key:
                info = {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "generativelanguage.googleapis.com"},
                }
                return parsed, self._refuse(400, "API key not valid. Please pass a valid API key.", [info])
        if raw and parsed is None:
            return parsed, self._refuse(400, f"Invalid JSON payload received. Unexpected token.\n{raw[:20]!r}")
        return parsed, None

    async def _scripted(self, request: web.Request) -> tuple[Behaviour | None, web.StreamResponse | None]:
        behaviour: Behaviour | None = self._script.popleft() if self._script else None
        delay = 0.0
        while isinstance(behaviour, Delay):
            delay += behaviour.seconds
            behaviour = behaviour.then  # type: ignore[assignment]
        if isinstance(behaviour, (GeminiError, Reply)):
            delay += behaviour.delay
        if delay > 0 and not await self._wait(delay):
            return None, _abort(request)
        if isinstance(behaviour, Hang):
            await self._wait(None)
            return None, _abort(request)
        if isinstance(behaviour, GeminiError):
            body = _error(behaviour.code, behaviour.message, behaviour.status, behaviour.details)
            return None, self._respond(body, behaviour.code, behaviour.headers)
        if isinstance(behaviour, Reply) and (behaviour.json is not None or behaviour.body is not None):
            body = behaviour.body if behaviour.body is not None else orjson.dumps(behaviour.json)
            return None, self._respond(body, behaviour.status, behaviour.headers)
        return behaviour, None

    # -- endpoints -------------------------------------------------------------------------------

    async def _not_found(self, request: web.Request) -> web.Response:
        _, refused = await self._intake(request)
        return refused or web.Response(
            status=404, text="<html><title>Error 404 (Not Found)!!1</title></html>", content_type="text/html"
        )

    def _model(self, model: str) -> dict[str, Any]:
        embed = "embedding" in model
        methods = ["embedContent", "batchEmbedContents"] if embed else ["generateContent", "countTokens"]
        return {
            "name": f"models/{model}",
            "version": "001",
            "displayName": model.replace("-", " ").title(),
            "inputTokenLimit": 2048 if embed else 1_048_576,
            "outputTokenLimit": 1 if embed else 65_536,
            "supportedGenerationMethods": methods,
        }

    async def _list_models(self, request: web.Request) -> web.Response:
        _, refused = await self._intake(request)
        return refused or self._respond({"models": [self._model(m) for m in self.models]})

    async def _get_model(self, request: web.Request) -> web.Response:
        _, refused = await self._intake(request)
        if refused is not None:
            return refused
        model = request.match_info["model"]
        if model not in self.models:
            return self._refuse(
                404,
                _not_found_message(model, "generateContent"),
            )
        return self._respond(self._model(model))

    async def _post(self, request: web.Request) -> web.StreamResponse:
        parsed, refused = await self._intake(request)
        if refused is not None:
            return refused
        model, method = request.match_info["model"], request.match_info["method"]
        if method not in (
            "generateContent",
            "streamGenerateContent",
            "countTokens",
            "embedContent",
            "batchEmbedContents",
        ):
            return web.Response(
                status=404, text="<html><title>Error 404 (Not Found)!!1</title></html>", content_type="text/html"
            )
        behaviour, answered = await self._scripted(request)
        if answered is not None:
            return answered
        if model not in self.models:
            return self._refuse(
                404,
                _not_found_message(model, method),
            )
        body = parsed if isinstance(parsed, dict) else {}
        if method == "countTokens":
            return self._count(body)
        if method in ("embedContent", "batchEmbedContents"):
            return self._embed(body, method == "batchEmbedContents")
        problem = self._check(body)
        if problem is not None:
            return self._refuse(400, problem)
        if method == "streamGenerateContent":
            if request.query.get("alt") != "sse":
                return self._refuse(400, "this fake streams only with alt=sse")
            return await self._stream(request, body, model, behaviour)
        answer = self._answer(body, model, behaviour)
        if isinstance(behaviour, Reply):
            return self._respond(answer, behaviour.status, behaviour.headers)
        return self._respond(answer)

    def _check(self, body: dict[str, Any]) -> str | None:
        for key in body:
            if key not in REQUEST_FIELDS:
                return f'Invalid JSON payload received. Unknown name "{key}": Cannot find field.'
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return "* GenerateContentRequest.contents: contents is not specified"
        for i, content in enumerate(contents):
            if not isinstance(content, dict) or content.get("role", "user") not in ("user", "model"):
                return f"Please use a valid role: user, model. (contents[{i}])"
            for part in content.get("parts") or ():
                call = part.get("functionCall") if isinstance(part, dict) else None
                if (
                    isinstance(call, dict)
                    and _signature(str(call.get("name")), call.get("args") or {}) in self.signatures
                ):
                    if part.get("thoughtSignature") != _signature(str(call.get("name")), call.get("args") or {}):
                        return (
                            f"Function call is missing a thought_signature in functionCall parts. This is required "
                            f"for tools to work correctly, and missing thought_signature may lead to degraded model "
                            f"performance. Additional data, function call `default_api:{call.get('name')}` , "
                            f"position {i + 1}."
                        )
        for key in body.get("generationConfig") or {}:
            if key not in GENERATION_FIELDS:
                return (
                    f"Invalid JSON payload received. Unknown name \"{key}\" at 'generation_config': Cannot find field."
                )
        config = body.get("generationConfig") or {}
        if (
            problem := _unknown_schema_key(config.get("responseSchema"), "generation_config.response_schema")
        ) is not None:
            return problem
        for i, tool in enumerate(body.get("tools") or ()):
            for j, decl in enumerate(tool.get("functionDeclarations") or ()):
                where = f"tools[{i}].function_declarations[{j}].parameters"
                if "parameters" in decl and "parametersJsonSchema" in decl:
                    return (
                        f"* GenerateContentRequest.tools[{i}].function_declarations[{j}]: parameters and "
                        "parameters_json_schema cannot both be set"
                    )
                if (problem := _unknown_schema_key(decl.get("parameters"), where)) is not None:
                    return problem
        return None

    # -- answers ---------------------------------------------------------------------------------

    @staticmethod
    def _said(body: dict[str, Any]) -> str:
        for content in reversed(body.get("contents") or ()):
            if isinstance(content, dict) and content.get("role", "user") == "user":
                texts = [
                    p["text"]
                    for p in content.get("parts") or ()
                    if isinstance(p, dict) and isinstance(p.get("text"), str)
                ]
                if texts:
                    return " ".join(texts)
        return ""

    def _usage(self, body: dict[str, Any], out: int, thoughts: int) -> dict[str, Any]:
        prompt = 2 + _tokens(orjson.dumps(body.get("contents")).decode().replace('"', " ")) // 2
        usage: dict[str, Any] = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": out,
            "totalTokenCount": prompt + out + thoughts,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
        }
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        if self.cached_tokens:
            usage["cachedContentTokenCount"] = min(self.cached_tokens, prompt)
        return usage

    def _tool(self, body: dict[str, Any], said: str) -> dict[str, Any] | None:
        declarations = [d for t in body.get("tools") or () for d in t.get("functionDeclarations") or ()]
        config = (body.get("toolConfig") or {}).get("functionCallingConfig") or {}
        if not declarations or config.get("mode") == "NONE":
            return None
        if config.get("mode") != "ANY" and "use tool" not in said.lower():
            return None
        allowed = config.get("allowedFunctionNames") or []
        chosen = next((d for d in declarations if d.get("name") in allowed), declarations[0])
        schema = chosen.get("parametersJsonSchema") or _lower_schema(chosen.get("parameters")) or {}
        args = _example_object(schema, said) if isinstance(schema, dict) else {}
        signature = _signature(chosen["name"], args)
        self.signatures.add(signature)
        return {"functionCall": {"name": chosen["name"], "args": args}, "thoughtSignature": signature}

    def _text(self, body: dict[str, Any], said: str, behaviour: Behaviour | None) -> str:
        config = body.get("generationConfig") or {}
        if isinstance(behaviour, Reply) and behaviour.content is not None:
            return behaviour.content
        if isinstance(behaviour, Stream) and behaviour.chunks is not None:
            return "".join(behaviour.chunks)
        if config.get("responseMimeType") == "application/json":
            schema = config.get("responseJsonSchema") or _lower_schema(config.get("responseSchema"))
            return orjson.dumps(
                _example_object(schema, said) if isinstance(schema, dict) else {"answer": said}
            ).decode()
        return f"Hello from fake Gemini! You said: {said}"

    def _answer(self, body: dict[str, Any], model: str, behaviour: Behaviour | None) -> dict[str, Any]:
        said = self._said(body)
        thinking = ((body.get("generationConfig") or {}).get("thinkingConfig") or {}).get("includeThoughts") is True
        parts: list[dict[str, Any]] = []
        if thinking:
            parts.append({"text": "**Thinking** about what was said.", "thought": True})
        tool = self._tool(body, said)
        text = self._text(body, said, behaviour)
        limit = (body.get("generationConfig") or {}).get("maxOutputTokens")
        finish = "STOP"
        if tool is not None:
            parts.append(tool)
        else:
            if isinstance(limit, int) and _tokens(text) > limit:
                text, finish = " ".join(text.split()[:limit]), "MAX_TOKENS"
            parts.append({"text": text})
        out = _tokens(text) if tool is None else 8
        return {
            "candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": finish, "index": 0}],
            "usageMetadata": self._usage(body, out, 12 if thinking else 0),
            "modelVersion": model,
            "responseId": f"resp{self._prefix}{next(self._ids)}",
        }

    async def _stream(
        self, request: web.Request, body: dict[str, Any], model: str, behaviour: Behaviour | None
    ) -> web.StreamResponse:
        stream = behaviour if isinstance(behaviour, Stream) else Stream()
        answer = self._answer(body, model, behaviour)
        candidate = answer["candidates"][0]
        parts = candidate["content"]["parts"]
        usage = answer["usageMetadata"]
        head = {"modelVersion": model, "responseId": answer["responseId"]}

        def event(parts: list[dict[str, Any]], finish: str | None = None) -> bytes:
            cand: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
            if finish:
                cand["finishReason"] = finish
            meta = (
                usage
                if finish
                else {"promptTokenCount": usage["promptTokenCount"], "totalTokenCount": usage["promptTokenCount"]}
            )
            return b"data: " + orjson.dumps({"candidates": [cand], "usageMetadata": meta, **head}) + b"\r\n\r\n"

        pieces: list[list[dict[str, Any]]] = []
        for part in parts:
            if "text" in part and not part.get("thought"):
                chunks = stream.chunks if stream.chunks is not None else _split(part["text"], self.default_chunks)
                pieces += [[{"text": c}] for c in chunks or [""]]
            else:
                pieces.append([part])
        response = web.StreamResponse(headers=_SSE)
        try:
            await response.prepare(request)
            last = len(pieces) - 1
            for i, piece in enumerate(pieces):
                if stream.chunk_delay > 0 and not await self._wait(stream.chunk_delay):
                    return _abort(request)
                done = i == last and stream.then == "done"
                await response.write(event(piece, candidate["finishReason"] if done else None))
            if stream.then == "error_event":
                error = stream.error or {
                    "code": 500,
                    "message": "An internal error has occurred.",
                    "status": "INTERNAL",
                }
                await response.write(b"data: " + orjson.dumps({"error": error}) + b"\r\n\r\n")
            elif stream.then == "reset":
                _hard_reset(request)
                return response
            await response.write_eof()
        except ConnectionResetError:
            pass
        return response

    def _count(self, body: dict[str, Any]) -> web.Response:
        inner = body.get("generateContentRequest")
        if inner is not None and "contents" in body:
            return self._refuse(400, "generate_content_request and contents cannot both be set")
        source = inner if isinstance(inner, dict) else body
        if isinstance(inner, dict) and not str(inner.get("model", "")).startswith("models/"):
            return self._refuse(
                400, "* CountTokensRequest.generate_content_request.model: unexpected model name format"
            )
        total = self._usage(source, 0, 0)["promptTokenCount"]
        return self._respond({"totalTokens": total, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": total}]})

    def _embed(self, body: dict[str, Any], batch: bool) -> web.Response:
        requests = body.get("requests") if batch else [body]
        if not isinstance(requests, list) or not requests:
            return self._refuse(400, "* BatchEmbedContentsRequest.requests: requests is not specified")
        out = []
        for i, item in enumerate(requests):
            if batch and not str(item.get("model", "")).startswith("models/"):
                return self._refuse(
                    400, f"* BatchEmbedContentsRequest.requests[{i}].model: unexpected model name format"
                )
            texts = [p.get("text", "") for p in (item.get("content") or {}).get("parts") or ()]
            if not texts:
                return self._refuse(400, f"* EmbedContentRequest.content: contents is not specified (requests[{i}])")
            dims = item.get("outputDimensionality") or EMBEDDING_DIMS
            out.append({"values": _embedding(" ".join(texts).encode(), dims)[0]})
        return self._respond({"embeddings": out} if batch else {"embedding": out[0]})

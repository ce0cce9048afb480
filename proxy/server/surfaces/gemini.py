"""The Gemini API surface: what Gemini CLI and the ``google-genai`` SDK speak
(``GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:4141``).

``POST /v1beta/models/{model}:generateContent``, ``:streamGenerateContent?alt=sse``,
``:countTokens``, ``:embedContent``, ``:batchEmbedContents``; ``GET /v1beta/models[/{model}]``.
The access key comes as ``x-goog-api-key`` or ``?key=`` (or as on every surface); errors are
Google's ``{"error": {"code", "message", "status"}}``.

Routed like every request. Per attempt, the target decides the wire format:

- a **Gemini** target (``preset: gemini``) gets the request untranslated and its answer is relayed
  byte for byte;
- any **other** target gets it in the chat form (``translate/gemini_request.py``), and its answer,
  JSON or stream, is re-told as Gemini's ``GenerateContentResponse`` chunks.

Streams never lie: chunks without content are held back until the first content; after content,
a failure ends the stream with one in-band ``data: {"error": {...}}`` (the SDK raises it) and no
chunk that says ``finishReason``, and the log says ``cut``.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web

from proxy.domain.errors import ApiError, UpstreamError, UpstreamHTTPError
from proxy.domain.exchange import Exchange
from proxy.domain.records import CUT, Usage
from proxy.providers.base import UpstreamCall, UpstreamReply
from proxy.providers.gemini import model_path
from proxy.routing.attempts import no_route_error
from proxy.routing.resolve import Attempt
from proxy.server.keys import EXCHANGE, snapshot_of
from proxy.server.streaming import ProgressTap, Retelling
from proxy.server.surfaces.base import Dialect, Handler, Surface, bearer_or_x_api_key, estimate_prompt_tokens
from proxy.server.surfaces.management import model_list
from proxy.server.validation import BANNED_FIELDS, read_json, wrong_type
from proxy.support.redact import REDACTOR
from proxy.support.sse import SSEEvent
from proxy.translate.common import TranslationError, json_object
from proxy.translate.gemini_answer import chat_to_gemini_response, openai_embeddings_to_gemini
from proxy.translate.gemini_common import gemini_usage_to_chat, google_error, google_status
from proxy.translate.gemini_request import dropped_tools, gemini_to_chat_request, text_of
from proxy.translate.gemini_stream import ChatToGeminiStream, gemini_event

log = logging.getLogger(__name__)

PREFIX = "/v1beta/models"
PREFIXES = (PREFIX, "/v1/models")
"""Where the model methods are (``GET /v1/models`` stays OpenAI's list; Gemini's is under ``/v1beta``)."""
MODEL = "{model:[^:]+}"
"""A model in a path: anything up to the method (route names such as ``oa/gpt-4o`` included)."""


def gemini_error(err: ApiError) -> bytes:
    """``{"error": {"code", "message", "status"}}``: Google's error shape."""
    return orjson.dumps(google_error(err.status, err.message))


def goog_api_key(request: web.Request) -> str | None:
    """The access key as the Gemini API takes it: ``x-goog-api-key``, ``?key=``, else as on every surface."""
    key = request.headers.get("x-goog-api-key") or request.query.get("key")
    if key and key.strip():
        return key.strip()
    return bearer_or_x_api_key(request)


def _bad(message: str, param: str) -> ApiError:
    return ApiError(400, message, param=param, code="invalid_argument")


def check_generate(body: dict[str, Any]) -> None:
    """The fields the gateway relies on (the upstream checks the rest)."""
    contents = body.get("contents")
    if contents is None:
        raise _bad("* GenerateContentRequest.contents: contents is not specified", "contents")
    if not isinstance(contents, list):
        raise wrong_type("contents", "an array of Content objects", contents)
    if not contents:
        raise _bad("* GenerateContentRequest.contents: contents is not specified", "contents")
    for i, content in enumerate(contents):
        if not isinstance(content, dict):
            raise wrong_type(f"contents[{i}]", "a Content object", content)
        parts = content.get("parts")
        if not isinstance(parts, list) or not all(isinstance(p, dict) for p in parts):
            raise wrong_type(f"contents[{i}].parts", "an array of Part objects", parts)
        role = content.get("role")
        if role not in (None, "", "user", "model", "function"):
            raise _bad(f"Please use a valid role: user, model (not {role!r}).", f"contents[{i}].role")
    for field, kind in (("generationConfig", dict), ("toolConfig", dict), ("tools", list)):
        value = body.get(field)
        if value is not None and not isinstance(value, kind):
            raise wrong_type(field, "an object" if kind is dict else "an array", value)
    system = body.get("systemInstruction")
    if system is not None and not isinstance(system, (dict, str)):
        raise wrong_type("systemInstruction", "a Content object", system)
    _check_banned(body)


def _check_banned(body: dict[str, Any]) -> None:
    for key in body:
        if key in BANNED_FIELDS:
            raise ApiError(
                400,
                f"The parameter '{key}' is not accepted: Switchboard decides where requests go and which keys "
                "they use from its own config.",
                param=key,
                code="forbidden_parameter",
            )


def _chunk_of(event: SSEEvent) -> dict[str, Any]:
    try:
        data = orjson.loads(event.data or b"")
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


def _inband_error(provider: str, error: Any) -> UpstreamHTTPError:
    error = json_object(error)
    code = error.get("code")
    status = code if isinstance(code, int) and 400 <= code < 600 else 502
    message = REDACTOR.redact(str(error.get("message") or "stream error"))
    return UpstreamHTTPError(provider, status, message, code=google_status(status))


def _has_content(chunk: dict[str, Any]) -> bool:
    for candidate in chunk.get("candidates") or ():
        candidate = json_object(candidate)
        if candidate.get("finishReason"):
            return True
        for part in json_object(candidate.get("content")).get("parts") or ():
            part = json_object(part)
            if part.get("text") or any(k in part for k in ("functionCall", "inlineData", "executableCode")):
                return True
    return bool(json_object(chunk.get("promptFeedback")).get("blockReason"))


def _error_event(message: str, code: int = 500) -> bytes:
    return gemini_event(google_error(code, message))


class _GeminiDialect(Dialect):
    """What the Gemini endpoints share: the model in the path, answers in Gemini's shape."""

    format = "gemini"
    terminal = "a chunk with finishReason"
    __slots__ = ()

    def model_of(self, body: dict[str, Any], request: web.Request) -> str:
        return request.match_info["model"].removeprefix("models/")

    def usage(self, usage: Any) -> Usage | None:
        return Usage.from_openai(gemini_usage_to_chat(usage))

    def answer(self, reply: UpstreamReply) -> bytes:
        if reply.format == self.format:
            self.ex.usage = self.usage(reply.json.get("usageMetadata"))
            return reply.body or b""
        self.ex.usage = Usage.from_openai(reply.json.get("usage"))
        return orjson.dumps(self.from_chat(reply.json))


class GenerateContent(_GeminiDialect):
    """A ``generateContent`` or ``streamGenerateContent`` request."""

    __slots__ = ("translated", "thoughts")

    def __init__(self, ex: Exchange, body: dict[str, Any], request: web.Request) -> None:
        super().__init__(ex, body, request)
        self.translated: dict[str, Any] | None = None
        thinking = json_object(json_object(body.get("generationConfig")).get("thinkingConfig"))
        self.thoughts = thinking.get("includeThoughts") is True

    def check(self, body: dict[str, Any], request: web.Request) -> bool:
        check_generate(body)
        return request.path.endswith(":streamGenerateContent")

    def build(self, attempt: Attempt, native: frozenset[str], stream_usage: bool) -> UpstreamCall:
        if "gemini" in native:
            method = "streamGenerateContent?alt=sse" if self.stream else "generateContent"
            body = {k: v for k, v in self.body.items() if k != "model"}
            return UpstreamCall(model_path(attempt.model, method), body, self.stream)
        if self.translated is None:
            try:
                self.translated = gemini_to_chat_request(self.body, self.model, self.stream)
            except TranslationError as exc:
                raise _bad(exc.message, exc.param or "contents") from None
            if dropped := dropped_tools(self.body):
                log.info("request %s: tools only Gemini runs were left out: %s", self.ex.id, ", ".join(dropped))
        chat = {**self.translated, "model": attempt.model}
        if self.stream and stream_usage:
            chat["stream_options"] = {"include_usage": True}
        return UpstreamCall("chat/completions", chat, self.stream)

    def is_lifecycle(self, event: SSEEvent, provider: str) -> bool:
        """Chunks without content (usage only, empty text) are lifecycle; ``{"error": ...}`` is a failure."""
        chunk = _chunk_of(event)
        if "error" in chunk:
            raise _inband_error(provider, chunk["error"])
        return not _has_content(chunk)

    def from_chat(self, completion: dict[str, Any]) -> Any:
        return chat_to_gemini_response(completion, self.model, thoughts=self.thoughts)

    def see(self, event: SSEEvent, tap: ProgressTap | None) -> bytes | None:
        """Usage from each chunk; the end at a ``finishReason``; an in-band error passed on, redacted."""
        if event.data is None:
            return event.raw
        chunk = _chunk_of(event)
        if "error" in chunk:
            error = _inband_error(self.ex.provider or "?", chunk["error"])
            self.ex.fail(CUT, 200, f"Provider {self.ex.provider!r} reported: {error.upstream_message}")
            return REDACTOR.redact(event.raw.decode("utf-8", "replace")).encode()
        if isinstance(chunk.get("usageMetadata"), dict):
            self.ex.usage = self.usage(chunk["usageMetadata"])
        if any(json_object(c).get("finishReason") for c in chunk.get("candidates") or ()):
            self.ended = True
        return event.raw

    def interrupted(self, message: str, exc: UpstreamError) -> bytes:
        return _error_event(message, exc.status if 500 <= exc.status < 600 else 502)

    def cut(self, message: str) -> bytes:
        return _error_event(message, 502)

    def retell(self) -> Retelling:
        return ChatToGeminiStream(self.model, thoughts=self.thoughts, response_id=self.ex.id)

    def retold_failure(self, retelling: Retelling, message: str, code: str) -> list[bytes]:
        return ChatToGeminiStream.fail(message, 502)

    def failed_after_commit(self, err: ApiError) -> bytes:
        return _error_event(err.message, err.status)


def _embed_text(content: Any, where: str) -> str:
    if not isinstance(content, dict) or not isinstance(content.get("parts"), list):
        raise _bad(f"* {where}: content is not specified", where)
    return text_of(content)


class EmbedContent(_GeminiDialect):
    """An ``embedContent`` request (one text) or ``batchEmbedContents`` (``requests[]``)."""

    __slots__ = ("texts", "batch")
    captured = False

    def check(self, body: dict[str, Any], request: web.Request) -> bool:
        self.batch = request.path.endswith(":batchEmbedContents")
        if self.batch:
            requests = body.get("requests")
            if not isinstance(requests, list) or not requests:
                raise _bad("* BatchEmbedContentsRequest.requests: requests is not specified", "requests")
            self.texts = [
                _embed_text(json_object(r).get("content"), f"requests[{i}].content") for i, r in enumerate(requests)
            ]
        else:
            self.texts = [_embed_text(body.get("content"), "content")]
        _check_banned(body)
        return False

    def build(self, attempt: Attempt, native: frozenset[str], stream_usage: bool) -> UpstreamCall:
        name = f"models/{attempt.model}"
        if "gemini" in native:
            if self.batch:
                requests = [{**json_object(r), "model": name} for r in self.body["requests"]]
                return UpstreamCall(model_path(attempt.model, "batchEmbedContents"), {"requests": requests})
            return UpstreamCall(model_path(attempt.model, "embedContent"), {**self.body, "model": name})
        body: dict[str, Any] = {"model": attempt.model, "input": self.texts}
        first = json_object(self.body["requests"][0]) if self.batch else self.body
        dims = first.get("outputDimensionality")
        if isinstance(dims, int) and not isinstance(dims, bool):
            body["dimensions"] = dims
        return UpstreamCall("embeddings", body)

    def from_chat(self, completion: dict[str, Any]) -> Any:
        embeddings = openai_embeddings_to_gemini(completion)
        return (
            {"embeddings": embeddings} if self.batch else {"embedding": embeddings[0] if embeddings else {"values": []}}
        )


# -- countTokens and the model list (handlers of their own) ---------------------------------------


async def count_tokens(request: web.Request) -> web.Response:
    """Passed to the route's first Gemini target when it has one; otherwise (or when that call
    fails) estimated at one token per 4 characters of the text (``x-switchboard-estimate: true``)."""
    snap = snapshot_of(request)
    ex: Exchange = request[EXCHANGE]
    body = await read_json(request, snap.config.server.max_body_bytes)
    ex.requested_model = model = request.match_info["model"].removeprefix("models/")
    inner = body.get("generateContentRequest")
    if inner is not None and not isinstance(inner, dict):
        raise wrong_type("generateContentRequest", "a GenerateContentRequest object", inner)
    check_generate(inner if isinstance(inner, dict) else {**body, "contents": body.get("contents", [])})
    resolution = snap.resolver.resolve(model)
    if resolution is None:
        raise no_route_error(model)
    ex.route = resolution.route
    for attempt in resolution.attempts:
        adapter = snap.adapters[attempt.provider]
        if "gemini" not in adapter.native:
            continue
        upstream = dict(body)
        if isinstance(inner, dict):
            upstream["generateContentRequest"] = {**inner, "model": f"models/{attempt.model}"}
        ex.provider, ex.upstream_model = attempt.provider, attempt.model
        try:
            reply = await adapter.call(UpstreamCall(model_path(attempt.model, "countTokens"), upstream))
        except UpstreamError as exc:
            ex.note_attempt(attempt.provider, attempt.model, exc.status, exc.message, 0.0)
            break
        if isinstance(reply.json.get("totalTokens"), int):
            ex.mark_first_byte()
            return web.Response(body=reply.body, content_type="application/json", headers=ex.result_headers())
        break
    ex.mark_first_byte()
    headers = {**ex.result_headers(), "x-switchboard-estimate": "true"}
    return web.json_response(
        {"totalTokens": estimate_tokens(inner if isinstance(inner, dict) else body)}, headers=headers
    )


def estimate_tokens(body: dict[str, Any]) -> int:
    """About one token per 4 characters of every string in the contents, system instruction and
    tools (an inline image counts as 258 tokens, Gemini's figure for an image up to 384 px)."""
    return estimate_prompt_tokens(
        [body.get("contents"), body.get("systemInstruction"), body.get("tools")],
        is_image=lambda item: "inlineData" in item,
        image_tokens=258,
        skip=frozenset({"role"}),
    )


def _model_entry(model_id: str) -> dict[str, Any]:
    return {
        "name": f"models/{model_id}",
        "version": "001",
        "displayName": model_id,
        "description": "Served by Switchboard",
        "inputTokenLimit": 1_048_576,
        "outputTokenLimit": 65_536,
        "supportedGenerationMethods": ["generateContent", "countTokens", "embedContent", "batchEmbedContents"],
    }


async def list_models(request: web.Request) -> web.Response:
    """Every route and ``provider/model`` as Gemini ``Model`` objects (one page)."""
    models = [_model_entry(entry["id"]) for entry in await model_list(request)]
    return web.json_response({"models": models}, dumps=lambda obj: orjson.dumps(obj).decode())


async def get_model(request: web.Request) -> web.Response:
    wanted = request.match_info["model"].removeprefix("models/")
    for entry in await model_list(request):
        if entry["id"] == wanted:
            return web.json_response(_model_entry(wanted), dumps=lambda obj: orjson.dumps(obj).decode())
    raise ApiError(404, f"models/{wanted} is not found for API version v1beta.", param="model", code="not_found")


def _row(
    name: str, routes: tuple[tuple[str, str], ...], dialect: type[Dialect] | None = None, handler: Handler | None = None
) -> Surface:
    return Surface(
        name,
        routes,
        dialect,
        handler,
        error_body=gemini_error,
        credentials=goog_api_key,
        cors_headers=("x-goog-api-key",),
        pausable=True,
    )


def _posts(*methods: str) -> tuple[tuple[str, str], ...]:
    """Each method under ``/v1beta`` and ``/v1`` (the Python SDK's default version)."""
    return tuple(("POST", f"{prefix}/{MODEL}:{method}") for prefix in PREFIXES for method in methods)


GEMINI_SURFACES = (
    _row("gemini", _posts("generateContent", "streamGenerateContent"), GenerateContent),
    _row("gemini_embed", _posts("embedContent", "batchEmbedContents"), EmbedContent),
    _row("gemini_count_tokens", _posts("countTokens"), handler=count_tokens),
    _row("gemini_models", (("GET", PREFIX),), handler=list_models),
    _row("gemini_models", (("GET", f"{PREFIX}/{{model:.+}}"),), handler=get_model),
)
"""The surface table's Gemini rows (``surfaces/table.py``)."""

"""OpenAI Responses API <-> Chat Completions, for upstreams that only speak Chat Completions.

The ``/v1/responses`` surface uses these for every target whose provider does not serve the
Responses API itself. Pure functions, no I/O; stateless per request.

What carries over, and what does not:

- ``instructions`` -> a first system message; ``developer`` messages -> system messages (the
  widest-supported role); ``input_text``/``output_text`` parts -> text; ``input_image`` -> an
  ``image_url`` part; ``input_file`` with ``file_data`` -> a ``file`` part.
- ``function_call`` items -> assistant ``tool_calls`` (consecutive calls join one assistant
  message, after its text); ``function_call_output`` -> ``tool`` messages; ids are kept
  (``call_id`` is the chat tool-call id).
- Custom (freeform) tools, such as Codex's ``apply_patch``, become function tools with one string
  parameter ``input``; the model's call comes back as a ``custom_tool_call`` with that input.
- ``reasoning`` input items are dropped: Chat Completions has no place for them. Reasoning text
  an upstream streams (``reasoning_content``/``reasoning``) comes back as a reasoning item with a
  summary.
- Built-in tools that only OpenAI runs (``web_search``, ``file_search``, ``code_interpreter``,
  ``local_shell``, ``computer_use_preview``, ``image_generation``, ``mcp``, ``namespace`` groups
  ...) are dropped; :func:`dropped_tools` names them for the log. Requiring one with
  ``tool_choice`` is an error.
- ``max_output_tokens`` -> ``max_tokens`` (understood by every OpenAI-compatible server);
  ``text.format`` -> ``response_format``; ``reasoning.effort`` -> ``reasoning_effort``.
- Ignored: ``store``, ``include``, ``prompt_cache_key``, ``service_tier``, ``truncation``,
  ``metadata``, ``client_metadata``, ``safety_identifier``, ``prompt``.
- Refused with a 400 naming the field: ``previous_response_id`` and ``item_reference`` items
  (Switchboard keeps no conversation state: send the whole conversation in ``input``), and
  ``background``.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from proxy.translate.common import TranslationError, sse_event

FUNCTION_TYPES = ("function", "custom")

__all__ = [
    "ResponsesStream",
    "TranslationError",
    "chat_completion_to_response",
    "dropped_tools",
    "responses_request_to_chat",
]


# ------------------------------------------------------------------------------------------------
# Request
# ------------------------------------------------------------------------------------------------


def dropped_tools(body: dict[str, Any]) -> list[str]:
    """Names (or types) of the request's tools that a Chat Completions upstream cannot run."""
    out = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict) and tool.get("type") not in FUNCTION_TYPES:
            out.append(str(tool.get("name") or tool.get("type")))
    return out


def custom_tool_names(body: dict[str, Any]) -> frozenset[str]:
    return frozenset(
        t["name"]
        for t in body.get("tools") or []
        if isinstance(t, dict) and t.get("type") == "custom" and t.get("name")
    )


def _text_of(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for k, part in enumerate(content):
            if not isinstance(part, dict):
                raise TranslationError("content parts must be objects", f"{where}[{k}]")
            if part.get("type") in ("input_text", "output_text", "text"):
                texts.append(str(part.get("text", "")))
            elif part.get("type") == "refusal":
                texts.append(str(part.get("refusal", "")))
            else:
                raise TranslationError(f"a {part.get('type')!r} part cannot go here", f"{where}[{k}].type")
        return "".join(texts)
    if content is None:
        return ""
    raise TranslationError("content must be a string or a list of parts", where)


def _user_content(content: Any, where: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise TranslationError("content must be a string or a list of parts", where)
    parts: list[dict[str, Any]] = []
    for k, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        at = f"{where}[{k}]"
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "input_image":
            url = part.get("image_url")
            if not isinstance(url, str):
                raise TranslationError("only images given by image_url (a URL or data URL) can be translated", at)
            image: dict[str, Any] = {"url": url}
            if part.get("detail") in ("low", "high", "auto"):
                image["detail"] = part["detail"]
            parts.append({"type": "image_url", "image_url": image})
        elif kind == "input_file":
            if not isinstance(part.get("file_data"), str):
                raise TranslationError("only files sent inline as file_data can be translated", at)
            file = {"file_data": part["file_data"], "filename": part.get("filename") or "file"}
            parts.append({"type": "file", "file": file})
        else:
            raise TranslationError(f"unsupported content part type {kind!r}", f"{at}.type")
    if all(p["type"] == "text" for p in parts):
        return "".join(p["text"] for p in parts)
    return parts


def _tool_output(output: Any, where: str) -> str:
    if isinstance(output, str):
        return output
    return _text_of(output, where)


def responses_request_to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """A Responses API request -> a Chat Completions request body (``model`` kept as given)."""
    if body.get("previous_response_id"):
        raise TranslationError(
            "previous_response_id is not supported: Switchboard is stateless on routes translated to Chat "
            "Completions; send the whole conversation in input",
            "previous_response_id",
        )
    if body.get("background"):
        raise TranslationError("background responses are not supported on translated routes", "background")
    custom = custom_tool_names(body)
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        messages.append({"role": "system", "content": instructions})
    elif instructions is not None and not isinstance(instructions, str):
        raise TranslationError("instructions must be a string", "instructions")
    items = body.get("input")
    if isinstance(items, str):
        messages.append({"role": "user", "content": items})
    elif isinstance(items, list):
        for i, item in enumerate(items):
            _add_item(messages, item, f"input[{i}]", custom)
    elif items is not None:
        raise TranslationError("input must be a string or a list of items", "input")
    chat: dict[str, Any] = {"model": body.get("model"), "messages": messages}
    tools = []
    for k, tool in enumerate(body.get("tools") or []):
        if not isinstance(tool, dict):
            raise TranslationError("each tool must be an object", f"tools[{k}]")
        if tool.get("type") == "function":
            function: dict[str, Any] = {"name": tool.get("name")}
            if tool.get("description"):
                function["description"] = tool["description"]
            function["parameters"] = tool.get("parameters") or {"type": "object", "properties": {}}
            if isinstance(tool.get("strict"), bool):
                function["strict"] = tool["strict"]
            tools.append({"type": "function", "function": function})
        elif tool.get("type") == "custom":
            hint = "The raw input for this tool (free text, not JSON)."
            fmt = tool.get("format")
            if isinstance(fmt, dict) and fmt.get("type") == "grammar" and isinstance(fmt.get("definition"), str):
                hint += f" It must follow this {fmt.get('syntax', 'grammar')} grammar:\n{fmt['definition']}"
            parameters = {
                "type": "object",
                "properties": {"input": {"type": "string", "description": hint}},
                "required": ["input"],
            }
            tools.append(
                {
                    "type": "function",
                    "function": {
                        "name": tool.get("name"),
                        "description": tool.get("description", ""),
                        "parameters": parameters,
                    },
                }
            )
    if tools:
        chat["tools"] = tools
        choice = body.get("tool_choice")
        if isinstance(choice, str) and choice in ("auto", "none", "required"):
            chat["tool_choice"] = choice
        elif isinstance(choice, dict):
            if choice.get("type") in FUNCTION_TYPES and isinstance(choice.get("name"), str):
                chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
            elif choice.get("type") == "allowed_tools":
                chat["tool_choice"] = "required" if choice.get("mode") == "required" else "auto"
            else:
                raise TranslationError(
                    f"tool_choice requires the built-in tool {choice.get('type')!r}, which only OpenAI runs",
                    "tool_choice",
                )
        if isinstance(body.get("parallel_tool_calls"), bool):
            chat["parallel_tool_calls"] = body["parallel_tool_calls"]
    elif body.get("tool_choice") == "required" or (
        isinstance(body.get("tool_choice"), dict) and body["tool_choice"].get("type") not in FUNCTION_TYPES
    ):
        raise TranslationError("tool_choice requires a tool that cannot be sent to this upstream", "tool_choice")
    for name in ("temperature", "top_p", "user"):
        if body.get(name) is not None:
            chat[name] = body[name]
    if isinstance(body.get("max_output_tokens"), int):
        chat["max_tokens"] = body["max_output_tokens"]
    fmt = (body.get("text") or {}).get("format") if isinstance(body.get("text"), dict) else None
    if isinstance(fmt, dict):
        if fmt.get("type") == "json_schema":
            schema = {"name": fmt.get("name") or "response", "schema": fmt.get("schema") or {}}
            if isinstance(fmt.get("strict"), bool):
                schema["strict"] = fmt["strict"]
            chat["response_format"] = {"type": "json_schema", "json_schema": schema}
        elif fmt.get("type") == "json_object":
            chat["response_format"] = {"type": "json_object"}
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and isinstance(reasoning.get("effort"), str):
        chat["reasoning_effort"] = reasoning["effort"]
    if body.get("stream") is True:
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}
    return chat


def _add_item(messages: list[dict[str, Any]], item: Any, where: str, custom: frozenset[str]) -> None:
    if not isinstance(item, dict):
        raise TranslationError("each input item must be an object", where)
    kind = item.get("type") or ("message" if "role" in item else None)
    if kind == "message":
        role = item.get("role")
        if role == "assistant":
            messages.append({"role": "assistant", "content": _text_of(item.get("content"), f"{where}.content")})
        elif role in ("user", "system", "developer"):
            content = _user_content(item.get("content"), f"{where}.content")
            if role != "user":
                content = content if isinstance(content, str) else _text_of(item.get("content"), f"{where}.content")
            messages.append({"role": "user" if role == "user" else "system", "content": content})
        else:
            raise TranslationError(f"unsupported role {role!r}", f"{where}.role")
    elif kind in ("function_call", "custom_tool_call"):
        call_id = item.get("call_id")
        name = item.get("name")
        if not isinstance(call_id, str) or not isinstance(name, str):
            raise TranslationError("a tool call needs call_id and name", where)
        if kind == "custom_tool_call":
            arguments = orjson.dumps({"input": item.get("input", "")}).decode()
        else:
            arguments = item.get("arguments") if isinstance(item.get("arguments"), str) else "{}"
        call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        last = messages[-1] if messages else None
        if last is not None and last["role"] == "assistant":
            last.setdefault("tool_calls", []).append(call)
            if last.get("content") == "":
                last["content"] = None
        else:
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
    elif kind in ("function_call_output", "custom_tool_call_output"):
        call_id = item.get("call_id")
        if not isinstance(call_id, str):
            raise TranslationError("a tool result needs call_id", f"{where}.call_id")
        output = _tool_output(item.get("output"), f"{where}.output")
        messages.append({"role": "tool", "tool_call_id": call_id, "content": output})
    elif kind == "reasoning":
        return  # Chat Completions has no place for reasoning items
    elif kind == "item_reference":
        raise TranslationError(
            "item_reference is not supported: Switchboard is stateless on translated routes; send the items themselves",
            f"{where}.type",
        )
    else:
        raise TranslationError(
            f"input item type {kind!r} cannot be sent to a Chat Completions upstream", f"{where}.type"
        )


# ------------------------------------------------------------------------------------------------
# Response
# ------------------------------------------------------------------------------------------------


def _usage(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, dict):
        return None
    prompt = usage.get("prompt_tokens") or 0
    completion = usage.get("completion_tokens") or 0
    details = usage.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens") or 0
    written = details.get("cache_creation_tokens") or 0
    reasoning = (usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0
    return {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written},
        "output_tokens": completion,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": usage.get("total_tokens") or prompt + completion,
    }


def _status(finish_reason: Any) -> tuple[str, dict[str, str] | None]:
    if finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def _response(
    request: dict[str, Any],
    response_id: str,
    created_at: int,
    model: str,
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    incomplete: dict[str, str] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    text = request.get("text") if isinstance(request.get("text"), dict) else {"format": {"type": "text"}}
    reasoning = request.get("reasoning") if isinstance(request.get("reasoning"), dict) else {}
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "metadata": request.get("metadata") if isinstance(request.get("metadata"), dict) else {},
        "model": model,
        "output": output,
        "parallel_tool_calls": request.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "store": False,
        "temperature": request.get("temperature", 1.0),
        "text": text,
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": [t for t in request.get("tools") or [] if isinstance(t, dict) and t.get("type") in FUNCTION_TYPES],
        "top_p": request.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": usage,
        "user": request.get("user"),
    }


def _call_item(call_id: str, name: str, arguments: str, custom: frozenset[str], item_id: str) -> dict[str, Any]:
    if name in custom:
        try:
            value = orjson.loads(arguments or "{}")
        except orjson.JSONDecodeError:
            value = None
        text = value.get("input") if isinstance(value, dict) and isinstance(value.get("input"), str) else arguments
        return {"id": item_id, "type": "custom_tool_call", "call_id": call_id, "name": name, "input": text}
    return {
        "id": item_id,
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": "completed",
    }


def _message_item(item_id: str, text: str, refusal: str | None = None) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if text or not refusal:
        content.append({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
    if refusal:
        content.append({"type": "refusal", "refusal": refusal})
    return {"id": item_id, "type": "message", "role": "assistant", "status": "completed", "content": content}


def _reasoning_item(item_id: str, text: str) -> dict[str, Any]:
    return {"id": item_id, "type": "reasoning", "summary": [{"type": "summary_text", "text": text}]}


def chat_completion_to_response(
    completion: dict[str, Any], request: dict[str, Any], response_id: str, created_at: int
) -> dict[str, Any]:
    """A ``chat.completion`` -> a Responses ``response`` (status completed, or incomplete)."""
    choices = completion.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    custom = custom_tool_names(request)
    base = response_id.removeprefix("resp_")
    output: list[dict[str, Any]] = []
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if isinstance(reasoning, str) and reasoning:
        output.append(_reasoning_item(f"rs_{base}", reasoning))
    text = message.get("content")
    if isinstance(text, list):
        text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
    refusal = message.get("refusal") if isinstance(message.get("refusal"), str) else None
    if (isinstance(text, str) and text) or refusal or not message.get("tool_calls"):
        output.append(_message_item(f"msg_{base}", text if isinstance(text, str) else "", refusal))
    for k, call in enumerate(message.get("tool_calls") or []):
        function = call.get("function") or {}
        output.append(
            _call_item(
                str(call.get("id") or f"call_{base}_{k}"),
                str(function.get("name")),
                function.get("arguments") or "",
                custom,
                f"fc_{base}_{k}",
            )
        )
    status, incomplete = _status(choice.get("finish_reason"))
    model = request.get("model") or completion.get("model")
    return _response(
        request, response_id, created_at, model, status, output, _usage(completion.get("usage")), incomplete
    )


class ResponsesStream:
    """``chat.completion.chunk`` dicts -> the Responses event sequence (SSE bytes, each with its
    ``sequence_number``): ``response.created``, ``response.in_progress``, then per output item
    ``response.output_item.added`` ... its deltas ... ``response.output_item.done``, and finally
    ``response.completed`` (or ``response.incomplete``) with the whole response and usage.

    Output items are sequential, so a new kind of delta (reasoning, text, a tool call) closes the
    open item first. Custom-tool input arrives as JSON arguments; it is sent whole when its item
    closes. A chat stream that goes back to an earlier tool call raises :class:`TranslationError`.
    """

    def __init__(self, request: dict[str, Any], response_id: str, created_at: int | None, model: str) -> None:
        self.request = request
        self.response_id = response_id
        self.created_at = created_at if created_at is not None else int(time.time())
        self.model = model
        self.usage: dict[str, Any] | None = None
        self.finish_reason: str | None = None
        self._custom = custom_tool_names(request)
        self._base = response_id.removeprefix("resp_")
        self._seq = 0
        self._output: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None  # {"kind", "item", "index", ...}
        self._tools_seen: set[int] = set()

    # -- framing -----------------------------------------------------------------------------------

    def _event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return sse_event(kind, payload)

    def _snapshot(self, status: str, **extra: Any) -> dict[str, Any]:
        return _response(
            self.request,
            self.response_id,
            self.created_at,
            self.model,
            status,
            list(self._output),
            _usage(self.usage),
            **extra,
        )

    def start(self) -> list[bytes]:
        snapshot = self._snapshot("in_progress")
        snapshot["usage"] = None
        return [
            self._event("response.created", response=snapshot),
            self._event("response.in_progress", response=snapshot),
        ]

    # -- items ---------------------------------------------------------------------------------------

    def _begin(self, kind: str, item: dict[str, Any], **state: Any) -> list[bytes]:
        out = self._close()
        index = len(self._output)
        self._output.append(item)
        self._open = {"kind": kind, "item": item, "index": index, **state}
        added = dict(item)
        if kind == "message":
            added["content"] = []
            added["status"] = "in_progress"
        elif kind == "reasoning":
            added["summary"] = []
        elif kind == "function":
            added["arguments"] = ""
            added["status"] = "in_progress"
        elif kind == "custom":
            added["input"] = ""
        out.append(self._event("response.output_item.added", output_index=index, item=added))
        if kind == "message":
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            out.append(
                self._event(
                    "response.content_part.added", item_id=item["id"], output_index=index, content_index=0, part=part
                )
            )
        elif kind == "reasoning":
            part = {"type": "summary_text", "text": ""}
            out.append(
                self._event(
                    "response.reasoning_summary_part.added",
                    item_id=item["id"],
                    output_index=index,
                    summary_index=0,
                    part=part,
                )
            )
        return out

    def _close(self) -> list[bytes]:
        current, self._open = self._open, None
        if current is None:
            return []
        item, index, kind = current["item"], current["index"], current["kind"]
        out: list[bytes] = []
        if kind == "message":
            text = item["content"][0]["text"]
            out.append(
                self._event(
                    "response.output_text.done",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    text=text,
                    logprobs=[],
                )
            )
            out.append(
                self._event(
                    "response.content_part.done",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    part=item["content"][0],
                )
            )
        elif kind == "reasoning":
            text = item["summary"][0]["text"]
            out.append(
                self._event(
                    "response.reasoning_summary_text.done",
                    item_id=item["id"],
                    output_index=index,
                    summary_index=0,
                    text=text,
                )
            )
            out.append(
                self._event(
                    "response.reasoning_summary_part.done",
                    item_id=item["id"],
                    output_index=index,
                    summary_index=0,
                    part=item["summary"][0],
                )
            )
        elif kind == "function":
            out.append(
                self._event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=index,
                    name=item["name"],
                    arguments=item["arguments"],
                )
            )
        elif kind == "custom":
            finished = _call_item(item["call_id"], item["name"], current["arguments"], self._custom, item["id"])
            item.update(finished)
            out.append(
                self._event(
                    "response.custom_tool_call_input.delta", item_id=item["id"], output_index=index, delta=item["input"]
                )
            )
            out.append(
                self._event(
                    "response.custom_tool_call_input.done", item_id=item["id"], output_index=index, input=item["input"]
                )
            )
        if kind in ("message", "function"):
            item["status"] = "completed"
        out.append(self._event("response.output_item.done", output_index=index, item=item))
        return out

    # -- chunks ---------------------------------------------------------------------------------------

    def feed(self, chunk: dict[str, Any]) -> list[bytes]:
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        out: list[bytes] = []
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str) and reasoning:
                if self._open is None or self._open["kind"] != "reasoning":
                    out += self._begin("reasoning", _reasoning_item(f"rs_{self._base}_{len(self._output)}", ""))
                item = self._open["item"]  # type: ignore[index]
                item["summary"][0]["text"] += reasoning
                out.append(
                    self._event(
                        "response.reasoning_summary_text.delta",
                        item_id=item["id"],
                        output_index=self._open["index"],  # type: ignore[index]
                        summary_index=0,
                        delta=reasoning,
                    )
                )
            text = delta.get("content")
            if isinstance(text, str) and text:
                if self._open is None or self._open["kind"] != "message":
                    out += self._begin("message", _message_item(f"msg_{self._base}_{len(self._output)}", ""))
                item = self._open["item"]  # type: ignore[index]
                item["content"][0]["text"] += text
                out.append(
                    self._event(
                        "response.output_text.delta",
                        item_id=item["id"],
                        output_index=self._open["index"],  # type: ignore[index]
                        content_index=0,
                        delta=text,
                        logprobs=[],
                    )
                )
            for call in delta.get("tool_calls") or []:
                out += self._tool_delta(call)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        return out

    def _tool_delta(self, call: dict[str, Any]) -> list[bytes]:
        index = call.get("index", 0)
        function = call.get("function") or {}
        arguments = function.get("arguments") or ""
        out: list[bytes] = []
        if index not in self._tools_seen:
            self._tools_seen.add(index)
            name = str(function.get("name") or "")
            call_id = str(call.get("id") or f"call_{self._base}_{index}")
            item_id = f"fc_{self._base}_{len(self._output)}"
            if name in self._custom:
                item = {"id": item_id, "type": "custom_tool_call", "call_id": call_id, "name": name, "input": ""}
                out += self._begin("custom", item, tool=index, arguments="")
            else:
                item = _call_item(call_id, name, "", self._custom, item_id)
                out += self._begin("function", item, tool=index)
        elif self._open is None or self._open.get("tool") != index:
            raise TranslationError("the upstream interleaved parallel tool calls, which cannot be streamed as items")
        if not arguments:
            return out
        current = self._open
        assert current is not None
        if current["kind"] == "custom":
            current["arguments"] += arguments
            return out
        current["item"]["arguments"] += arguments
        out.append(
            self._event(
                "response.function_call_arguments.delta",
                item_id=current["item"]["id"],
                output_index=current["index"],
                delta=arguments,
            )
        )
        return out

    def finish(self) -> list[bytes]:
        out = self._close()
        status, incomplete = _status(self.finish_reason)
        response = self._snapshot(status, incomplete=incomplete)
        kind = "response.completed" if status == "completed" else "response.incomplete"
        out.append(self._event(kind, response=response))
        return out

    def fail(self, message: str, code: str | None) -> list[bytes]:
        """After a failure mid-stream: ``response.failed`` with the error (the open item stays
        unfinished: it was cut)."""
        self._open = None
        # The SDK knows a fixed set of codes; ours ("stream_cut" ...) goes in the message.
        text = f"{message} ({code})" if code else message
        response = self._snapshot("failed", error={"code": "server_error", "message": text})
        return [self._event("response.failed", response=response)]

    def response(self) -> dict[str, Any]:
        status, incomplete = _status(self.finish_reason)
        return self._snapshot(status, incomplete=incomplete)

"""A Gemini ``GenerateContentRequest`` as a Chat Completions request (the Gemini surface, to any
upstream that does not speak Gemini).

- ``systemInstruction`` -> the system message; ``contents`` (role ``user``/``model``) -> user and
  assistant messages: ``text`` parts -> text, ``inlineData``/``fileData`` images -> ``image_url``
  (data URLs), audio -> ``input_audio``, PDFs -> ``file``; ``functionCall`` parts -> ``tool_calls``
  (a call without an ``id`` gets one, and its ``functionResponse`` is matched by name);
  ``functionResponse`` parts -> ``tool`` messages; ``thought`` parts of the model are left out.
- ``tools[].functionDeclarations`` -> function tools (``parameters`` as JSON Schema, a Gemini
  ``Schema`` converted); other Gemini tools (Google Search, code execution ...) only Gemini runs,
  so they are left out and named in :func:`dropped_tools`.
- ``toolConfig.functionCallingConfig``: ``AUTO`` -> ``auto``, ``ANY`` -> ``required`` (one allowed
  name: that function), ``NONE`` -> ``none``.
- ``generationConfig``: temperature, topP, maxOutputTokens, stopSequences, candidateCount,
  penalties, seed, logprobs map one to one; ``responseMimeType: application/json`` with
  ``responseSchema``/``responseJsonSchema`` -> ``response_format`` ``json_schema`` (without a
  schema: ``json_object``); ``thinkingConfig`` -> ``reasoning_effort``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from proxy.translate.common import TranslationError, json_object
from proxy.translate.gemini_common import gemini_schema_to_json, new_call_id

_AUDIO_FORMATS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mp3": "mp3", "audio/mpeg": "mp3"}
_LEVELS = {"MINIMAL": "minimal", "LOW": "low", "MEDIUM": "medium", "HIGH": "high"}


def thinking_effort(config: Any) -> str | None:
    """``thinkingConfig`` -> ``reasoning_effort`` (a budget up to 1024 -> low, up to 8192 -> medium,
    more -> high). No budget, 0 (off) and -1 (the model decides) say nothing: a model that does not
    reason would refuse ``reasoning_effort``."""
    config = json_object(config)
    level = config.get("thinkingLevel")
    if isinstance(level, str) and level in _LEVELS:
        return _LEVELS[level]
    budget = config.get("thinkingBudget")
    if not isinstance(budget, int) or isinstance(budget, bool):
        return None
    if budget <= 0:
        return None
    return "low" if budget <= 1024 else "medium" if budget <= 8192 else "high"


def text_of(content: Any) -> str:
    """The text parts of a ``Content`` (or a bare string, which the API accepts for ``systemInstruction``)."""
    if isinstance(content, str):
        return content
    parts = json_object(content).get("parts")
    return "".join(p["text"] for p in parts or () if isinstance(p, dict) and isinstance(p.get("text"), str))


def dropped_tools(body: dict[str, Any]) -> list[str]:
    """The Gemini-only tools of a request (``googleSearch``, ``codeExecution`` ...)."""
    names = []
    for tool in body.get("tools") or ():
        if isinstance(tool, dict):
            names += [k for k in tool if k != "functionDeclarations"]
    return names


def _media(blob: dict[str, Any], where: str, *, uri: bool) -> dict[str, Any]:
    mime = str(blob.get("mimeType") or "")
    if uri:
        url = blob.get("fileUri")
        if not isinstance(url, str) or not mime.startswith("image/"):
            raise TranslationError("only image `fileData` (by URL) can go to this model", where)
        return {"type": "image_url", "image_url": {"url": url}}
    data = blob.get("data")
    if not isinstance(data, str):
        raise TranslationError("`inlineData.data` must be a base64 string", f"{where}.data")
    if mime.startswith("image/"):
        return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}}
    if mime in _AUDIO_FORMATS:
        return {"type": "input_audio", "input_audio": {"data": data, "format": _AUDIO_FORMATS[mime]}}
    if mime == "application/pdf":
        return {"type": "file", "file": {"filename": "document.pdf", "file_data": f"data:{mime};base64,{data}"}}
    if mime.startswith("text/"):
        try:
            return {"type": "text", "text": base64.b64decode(data).decode("utf-8")}
        except (binascii.Error, ValueError):
            raise TranslationError("`inlineData.data` must be base64 text", f"{where}.data") from None
    raise TranslationError(f"inline data of type {mime or '(none)'!r} cannot go to this model", where)


def _tool_output(response: Any) -> str:
    """A ``functionResponse.response`` as a tool message's content (``{"output": "..."}``: the text)."""
    if isinstance(response, dict) and len(response) == 1:
        ((key, value),) = response.items()
        if key in ("output", "result", "content") and isinstance(value, str):
            return value
    return orjson.dumps(response).decode()


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    system = body.get("systemInstruction")
    if system is not None:
        text = text_of(system)
        if text:
            messages.append({"role": "system", "content": text})
    pending: dict[str, list[str]] = {}  # function name -> ids of calls awaiting a response
    for i, content in enumerate(body.get("contents") or ()):
        where = f"contents[{i}]"
        if not isinstance(content, dict):
            raise TranslationError("each content must be an object", where)
        role = content.get("role") or "user"
        parts = content.get("parts") or []
        if not isinstance(parts, list):
            raise TranslationError("`parts` must be an array", f"{where}.parts")
        texts: list[dict[str, Any]] = []
        calls: list[dict[str, Any]] = []
        results: list[dict[str, Any]] = []
        for j, part in enumerate(parts):
            at = f"{where}.parts[{j}]"
            if not isinstance(part, dict):
                raise TranslationError("each part must be an object", at)
            if isinstance(part.get("text"), str):
                if part.get("thought") is True:
                    continue  # the model's thoughts are not sent back to another model
                texts.append({"type": "text", "text": part["text"]})
            elif isinstance(part.get("inlineData"), dict):
                texts.append(_media(part["inlineData"], f"{at}.inlineData", uri=False))
            elif isinstance(part.get("fileData"), dict):
                texts.append(_media(part["fileData"], f"{at}.fileData", uri=True))
            elif isinstance(part.get("functionCall"), dict):
                call = part["functionCall"]
                name = str(call.get("name") or "")
                call_id = call.get("id") if isinstance(call.get("id"), str) and call["id"] else new_call_id()
                pending.setdefault(name, []).append(call_id)
                arguments = orjson.dumps(call.get("args") or {}).decode()
                calls.append({"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}})
            elif isinstance(part.get("functionResponse"), dict):
                result = part["functionResponse"]
                name = str(result.get("name") or "")
                waiting = pending.get(name) or []
                given = result.get("id")
                if isinstance(given, str) and given in waiting:
                    waiting.remove(given)
                    tool_call_id = given
                elif waiting:
                    tool_call_id = waiting.pop(0)
                elif isinstance(given, str) and given:
                    tool_call_id = given
                else:
                    raise TranslationError(f"a functionResponse for {name!r} follows no functionCall", at)
                results.append(
                    {"role": "tool", "tool_call_id": tool_call_id, "content": _tool_output(result.get("response"))}
                )
            elif "thoughtSignature" in part and len(part) == 1:
                continue
            else:
                kind = next(iter(part), "(empty)")
                raise TranslationError(f"a {kind!r} part cannot go to this model", at)
        if role == "model":
            message: dict[str, Any] = {
                "role": "assistant",
                "content": "".join(t.get("text", "") for t in texts) or None,
            }
            if calls:
                message["tool_calls"] = calls
            if message["content"] is not None or calls:
                messages.append(message)
        elif role in ("user", "function"):  # "function": the older name of a turn of function responses
            messages += results
            if texts:
                plain = all(t["type"] == "text" for t in texts)
                messages.append({"role": "user", "content": "".join(t["text"] for t in texts) if plain else texts})
        else:
            raise TranslationError(f"role {role!r} is not 'user' or 'model'", f"{where}.role")
    return messages


def _tools(body: dict[str, Any]) -> list[dict[str, Any]]:
    tools = []
    for i, tool in enumerate(body.get("tools") or ()):
        for j, decl in enumerate(json_object(tool).get("functionDeclarations") or ()):
            if not isinstance(decl, dict) or not isinstance(decl.get("name"), str):
                raise TranslationError("a function declaration needs a `name`", f"tools[{i}].functionDeclarations[{j}]")
            function: dict[str, Any] = {"name": decl["name"]}
            if isinstance(decl.get("description"), str):
                function["description"] = decl["description"]
            if isinstance(decl.get("parametersJsonSchema"), dict):
                function["parameters"] = decl["parametersJsonSchema"]
            elif isinstance(decl.get("parameters"), dict):
                function["parameters"] = gemini_schema_to_json(decl["parameters"])
            else:
                function["parameters"] = {"type": "object", "properties": {}}
            tools.append({"type": "function", "function": function})
    return tools


def _tool_choice(body: dict[str, Any]) -> Any:
    config = json_object(json_object(body.get("toolConfig")).get("functionCallingConfig"))
    mode = config.get("mode")
    if mode == "NONE":
        return "none"
    if mode == "ANY":
        names = config.get("allowedFunctionNames")
        if isinstance(names, list) and len(names) == 1 and isinstance(names[0], str):
            return {"type": "function", "function": {"name": names[0]}}
        return "required"
    if mode in ("AUTO", "VALIDATED"):
        return "auto"
    return None


def response_format(config: dict[str, Any]) -> dict[str, Any] | None:
    """``responseMimeType``/``responseSchema``/``responseJsonSchema`` -> ``response_format``."""
    if config.get("responseMimeType") != "application/json":
        return None
    schema = config.get("responseJsonSchema")
    if not isinstance(schema, dict) and isinstance(config.get("responseSchema"), dict):
        schema = gemini_schema_to_json(config["responseSchema"])
    if not isinstance(schema, dict):
        return {"type": "json_object"}
    name = str(schema.get("title") or "response")
    name = "".join(c if c.isalnum() or c in "_-" else "_" for c in name)[:64] or "response"
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}


_GENERATION = (
    ("temperature", "temperature"),
    ("topP", "top_p"),
    ("maxOutputTokens", "max_tokens"),
    ("candidateCount", "n"),
    ("presencePenalty", "presence_penalty"),
    ("frequencyPenalty", "frequency_penalty"),
    ("seed", "seed"),
    ("responseLogprobs", "logprobs"),
    ("logprobs", "top_logprobs"),
)


def gemini_to_chat_request(body: dict[str, Any], model: str, stream: bool) -> dict[str, Any]:
    """The Chat Completions request for a Gemini ``GenerateContentRequest``.

    Raises:
        TranslationError: a part or field that cannot be carried over (``param`` names it).
    """
    chat: dict[str, Any] = {"model": model, "messages": _messages(body)}
    if stream:
        chat["stream"] = True
    tools = _tools(body)
    if tools:
        chat["tools"] = tools
        choice = _tool_choice(body)
        if choice is not None:
            chat["tool_choice"] = choice
    config = json_object(body.get("generationConfig"))
    for theirs, ours in _GENERATION:
        if config.get(theirs) is not None:
            chat[ours] = config[theirs]
    stops = config.get("stopSequences")
    if isinstance(stops, list) and stops:
        chat["stop"] = stops
    fmt = response_format(config)
    if fmt is not None:
        chat["response_format"] = fmt
    effort = thinking_effort(config.get("thinkingConfig"))
    if effort is not None:
        chat["reasoning_effort"] = effort
    return chat

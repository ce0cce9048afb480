"""A Chat Completions request as a Gemini ``GenerateContentRequest`` (a native Gemini upstream,
asked by any surface), and an OpenAI embeddings request as ``batchEmbedContents``.

- system/developer messages -> ``systemInstruction``; user messages -> ``user`` contents (text,
  images as ``inlineData`` from data URLs or ``fileData`` by URL, ``input_audio``, ``file``);
  assistant messages -> ``model`` contents (text, then one ``functionCall`` part per tool call,
  with the ``thoughtSignature`` its id carries, see :func:`~proxy.translate.gemini_common.call_id`);
  consecutive tool messages -> one ``user`` content of ``functionResponse`` parts (named after the
  call they answer).
- ``tools`` -> ``functionDeclarations`` with ``parametersJsonSchema``; ``tool_choice`` ->
  ``toolConfig.functionCallingConfig``.
- ``max_tokens``/``max_completion_tokens``, ``temperature``, ``top_p``, ``stop``, ``n``,
  penalties, ``seed``, logprobs -> ``generationConfig``; ``response_format`` -> ``responseMimeType``
  (+ ``responseJsonSchema``); ``reasoning_effort`` -> ``thinkingConfig`` (a budget, thoughts included).

The caller (the provider) cleans schemas of keywords Gemini refuses.
"""

from __future__ import annotations

import mimetypes
from typing import Any

import orjson

from proxy.translate.common import TranslationError, json_object, json_string
from proxy.translate.gemini_common import split_call_id

THINKING_BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576}
"""``reasoning_effort`` -> ``thinkingConfig.thinkingBudget``."""
_AUDIO_MIME = {"wav": "audio/wav", "mp3": "audio/mp3"}


def _data_url(url: str, where: str) -> dict[str, Any]:
    head, comma, data = url.partition(",")
    if not comma or not head.endswith(";base64"):
        raise TranslationError("data URLs must be base64", where)
    return {"inlineData": {"mimeType": head[5:-7] or "application/octet-stream", "data": data}}


def _user_parts(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}]
    parts: list[dict[str, Any]] = []
    for i, item in enumerate(content or ()):
        at = f"{where}[{i}]"
        item = json_object(item)
        kind = item.get("type")
        if kind == "text":
            parts.append({"text": json_string(item.get("text"))})
        elif kind == "image_url":
            image = item.get("image_url")
            url = image if isinstance(image, str) else json_string(json_object(image).get("url"))
            if not url:
                raise TranslationError("an image part needs `image_url.url`", f"{at}.image_url")
            if url.startswith("data:"):
                parts.append(_data_url(url, f"{at}.image_url.url"))
            else:
                mime = mimetypes.guess_type(url.partition("?")[0])[0] or "image/jpeg"
                parts.append({"fileData": {"mimeType": mime, "fileUri": url}})
        elif kind == "input_audio":
            audio = json_object(item.get("input_audio"))
            mime = _AUDIO_MIME.get(json_string(audio.get("format")), "audio/wav")
            parts.append({"inlineData": {"mimeType": mime, "data": json_string(audio.get("data"))}})
        elif kind == "file":
            data = json_string(json_object(item.get("file")).get("file_data"))
            if not data.startswith("data:"):
                raise TranslationError("a file part needs `file.file_data` as a data URL", f"{at}.file")
            parts.append(_data_url(data, f"{at}.file.file_data"))
        else:
            raise TranslationError(f"a {kind!r} content part cannot go to Gemini", at)
    return parts


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(json_string(json_object(p).get("text")) for p in content or ())


def _tool_response(content: Any) -> dict[str, Any]:
    text = _text(content)
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = None
    return value if isinstance(value, dict) else {"output": text}


def _contents(messages: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    contents: list[dict[str, Any]] = []
    system: list[str] = []
    names: dict[str, str] = {}  # tool call id -> function name
    for i, message in enumerate(messages):
        message = json_object(message)
        role = message.get("role")
        where = f"messages[{i}]"
        if role in ("system", "developer"):
            system.append(_text(message.get("content")))
        elif role == "user":
            contents.append({"role": "user", "parts": _user_parts(message.get("content"), f"{where}.content")})
        elif role == "assistant":
            parts: list[dict[str, Any]] = []
            text = _text(message.get("content"))
            if text:
                parts.append({"text": text})
            for call in message.get("tool_calls") or ():
                call = json_object(call)
                function = json_object(call.get("function"))
                base, signature = split_call_id(json_string(call.get("id")))
                names[json_string(call.get("id"))] = json_string(function.get("name"))
                try:
                    args = orjson.loads(json_string(function.get("arguments")) or "{}")
                except orjson.JSONDecodeError:
                    raise TranslationError("tool call arguments must be JSON", f"{where}.tool_calls") from None
                part: dict[str, Any] = {
                    "functionCall": {
                        "id": base,
                        "name": json_string(function.get("name")),
                        "args": args if isinstance(args, dict) else {"value": args},
                    }
                }
                if signature:
                    part["thoughtSignature"] = signature
                parts.append(part)
            if parts:
                contents.append({"role": "model", "parts": parts})
        elif role == "tool":
            raw_id = json_string(message.get("tool_call_id"))
            base, _ = split_call_id(raw_id)
            answer = {"id": base, "name": names.get(raw_id, ""), "response": _tool_response(message.get("content"))}
            previous = contents[-1] if contents else None
            if previous is not None and previous.get("_tools"):
                previous["parts"].append({"functionResponse": answer})
            else:
                contents.append({"role": "user", "parts": [{"functionResponse": answer}], "_tools": True})
        else:
            raise TranslationError(f"role {role!r} cannot go to Gemini", f"{where}.role")
    for content in contents:
        content.pop("_tools", None)
    return contents, system


def _tool_config(choice: Any) -> dict[str, Any] | None:
    if choice == "none":
        return {"functionCallingConfig": {"mode": "NONE"}}
    if choice == "auto":
        return {"functionCallingConfig": {"mode": "AUTO"}}
    if choice == "required":
        return {"functionCallingConfig": {"mode": "ANY"}}
    name = json_string(json_object(json_object(choice).get("function")).get("name"))
    if name:
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [name]}}
    return None


_GENERATION = (
    ("temperature", "temperature"),
    ("top_p", "topP"),
    ("n", "candidateCount"),
    ("presence_penalty", "presencePenalty"),
    ("frequency_penalty", "frequencyPenalty"),
    ("seed", "seed"),
    ("logprobs", "responseLogprobs"),
    ("top_logprobs", "logprobs"),
)


def chat_to_gemini_request(body: dict[str, Any]) -> dict[str, Any]:
    """The ``GenerateContentRequest`` for a Chat Completions request (the model goes in the URL).

    Raises:
        TranslationError: a message part Gemini has no place for.
    """
    messages = body.get("messages")
    contents, system = _contents(messages if isinstance(messages, list) else [])
    out: dict[str, Any] = {"contents": contents}
    if any(system):
        out["systemInstruction"] = {"parts": [{"text": "\n\n".join(s for s in system if s)}]}
    declarations = []
    for tool in body.get("tools") or ():
        function = json_object(json_object(tool).get("function"))
        if not function.get("name"):
            continue
        decl: dict[str, Any] = {"name": function["name"]}
        if isinstance(function.get("description"), str):
            decl["description"] = function["description"]
        if isinstance(function.get("parameters"), dict):
            decl["parametersJsonSchema"] = function["parameters"]
        declarations.append(decl)
    if declarations:
        out["tools"] = [{"functionDeclarations": declarations}]
        config = _tool_config(body.get("tool_choice"))
        if config is not None:
            out["toolConfig"] = config
    generation: dict[str, Any] = {}
    for ours, theirs in _GENERATION:
        if body.get(ours) is not None:
            generation[theirs] = body[ours]
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if isinstance(limit, int):
        generation["maxOutputTokens"] = limit
    stop = body.get("stop")
    if isinstance(stop, str):
        generation["stopSequences"] = [stop]
    elif isinstance(stop, list) and stop:
        generation["stopSequences"] = stop
    fmt = json_object(body.get("response_format"))
    if fmt.get("type") in ("json_object", "json_schema"):
        generation["responseMimeType"] = "application/json"
        schema = json_object(fmt.get("json_schema")).get("schema")
        if isinstance(schema, dict):
            generation["responseJsonSchema"] = schema
    effort = body.get("reasoning_effort")
    if isinstance(effort, str) and effort in THINKING_BUDGETS:
        generation["thinkingConfig"] = {"thinkingBudget": THINKING_BUDGETS[effort], "includeThoughts": True}
    if generation:
        out["generationConfig"] = generation
    return out


def embeddings_to_gemini(body: dict[str, Any], model: str) -> dict[str, Any]:
    """An OpenAI embeddings request as a ``BatchEmbedContentsRequest``.

    Raises:
        TranslationError: token arrays as input (Gemini embeds text only).
    """
    value = body.get("input")
    texts = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    if not all(isinstance(t, str) for t in texts):
        raise TranslationError("Gemini embeds text only, not token arrays", "input")
    requests = []
    for text in texts:
        request: dict[str, Any] = {"model": f"models/{model}", "content": {"parts": [{"text": text}]}}
        if isinstance(body.get("dimensions"), int):
            request["outputDimensionality"] = body["dimensions"]
        requests.append(request)
    return {"requests": requests}

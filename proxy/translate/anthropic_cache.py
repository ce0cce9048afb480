"""Prompt-cache breakpoints for requests translated to Anthropic (Chat Completions, Responses).

OpenAI caches prompt prefixes on its own; Anthropic caches only up to blocks marked with
``cache_control``, so a translated request would never be cached. :func:`place_breakpoints` marks
them the way Anthropic documents:

- the cache prefix is the request in the order **tools -> system -> messages**; a breakpoint caches
  everything up to and including its block;
- at most :data:`MAX_BREAKPOINTS` (4) breakpoints per request (a fifth is a 400): the client's own
  ``cache_control`` marks are kept and counted, and only the remaining slots are used;
- a prefix shorter than the model's minimum cacheable length (:func:`minimum_tokens`) is not cached
  at all, so no slot is spent on one;
- ``thinking``, ``redacted_thinking`` and empty text blocks cannot carry a mark;
- a ``ttl: 1h`` entry must come before every ``5m`` one: a mark placed before a client's 1-hour mark
  gets ``1h`` too (otherwise the default 5 minutes).

Slots go, in order, to: the end of the conversation (the whole prompt, read back by the next turn),
the end of the system prompt (shared by every conversation with the same tools and system), the end
of the tool definitions, and the end of the previous user turn (so a long agentic turn, beyond
Anthropic's 20-block look-back, still finds the last write). Sizes are estimated at 4 characters
per token (an image at 1,600). Pure functions; the body is changed in place.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

MAX_BREAKPOINTS = 4
EPHEMERAL: dict[str, Any] = {"type": "ephemeral"}
_MARKABLE = frozenset({"text", "image", "document", "tool_use", "tool_result", "search_result"})
_MODEL = re.compile(r"claude-(opus|sonnet|haiku)-(\d+)(?:[-.](\d{1,2}))?(?=[-.@:]|$)")
_OLD_MODEL = re.compile(r"claude-(\d)(?:[-.](\d))?-(opus|sonnet|haiku)")


def minimum_tokens(model: str) -> int:
    """Anthropic's minimum cacheable prompt length for ``model``: 4,096 tokens for Opus 4.5 and
    later and Haiku 4.5 and later, 2,048 for Sonnet 4.6 and the Claude 3 Haikus, 1,024 otherwise."""
    name = model.lower()
    match = _MODEL.search(name)
    if match is not None:
        family, version = match[1], (int(match[2]), int(match[3] or 0))
    elif (old := _OLD_MODEL.search(name)) is not None:
        family, version = old[3], (int(old[1]), int(old[2] or 0))
    else:
        return 1024
    if family in ("opus", "haiku") and version >= (4, 5):
        return 4096
    if (family == "sonnet" and version >= (4, 6)) or (family == "haiku" and version < (4, 0)):
        return 2048
    return 1024


def _tokens(item: Any) -> int:
    if isinstance(item, dict) and item.get("type") == "image":
        return 1600
    return len(orjson.dumps(item)) // 4


def _markable(where: str, block: Any) -> bool:
    if where == "tool":
        return isinstance(block, dict)  # every tool definition (custom or server) can carry one
    if not isinstance(block, dict) or block.get("type") not in _MARKABLE:
        return False
    return block.get("type") != "text" or bool(block.get("text"))


def place_breakpoints(body: dict[str, Any]) -> int:
    """Add ``cache_control`` breakpoints to the Anthropic request ``body`` (in place), following the
    rules above; returns how many were added."""
    system = body.get("system")
    if isinstance(system, str) and system:
        system = body["system"] = [{"type": "text", "text": system}]
    # The prompt in cache order, each item with the estimated tokens up to and including it.
    items: list[tuple[str, dict[str, Any], int]] = []  # (where, block, cumulative tokens)
    total = 0
    for tool in body.get("tools") or ():
        if isinstance(tool, dict):
            total += _tokens(tool)
            items.append(("tool", tool, total))
    for block in system if isinstance(system, list) else ():
        if isinstance(block, dict):
            total += _tokens(block)
            items.append(("system", block, total))
    user_turns: list[int] = []  # per user message, the index of its last item
    for message in body.get("messages") or ():
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str) and content:
            content = message["content"] = [{"type": "text", "text": content}]
        for block in content if isinstance(content, list) else ():
            if isinstance(block, dict):
                total += _tokens(block)
                items.append(("message", block, total))
        if isinstance(message, dict) and message.get("role") == "user" and items and items[-1][0] == "message":
            user_turns.append(len(items) - 1)
    marked = [i for i, (_, block, _) in enumerate(items) if isinstance(block.get("cache_control"), dict)]
    nested = sum(
        1
        for _, block, _ in items
        if block.get("type") == "tool_result" and isinstance(block.get("content"), list)
        for inner in block["content"]
        if isinstance(inner, dict) and isinstance(inner.get("cache_control"), dict)
    )
    automatic = 1 if isinstance(body.get("cache_control"), dict) else 0
    free = MAX_BREAKPOINTS - len(marked) - nested - automatic
    if free <= 0:
        return 0
    minimum = minimum_tokens(str(body.get("model") or ""))

    def last_markable(kind: str, upto: int | None = None) -> int | None:
        end = len(items) if upto is None else upto + 1
        for i in range(end - 1, -1, -1):
            where, block, _ = items[i]
            if where == kind and _markable(where, block):
                return i
            if upto is not None and where != kind:
                return None
        return None

    candidates = [
        last_markable("message"),
        last_markable("system"),
        last_markable("tool"),
        last_markable("message", user_turns[-2]) if len(user_turns) >= 2 else None,
    ]
    chosen: list[int] = []
    for index in candidates:
        if index is None or index in marked or index in chosen or items[index][2] < minimum:
            continue
        chosen.append(index)
        if len(chosen) == free:
            break
    long_lived = [i for i in marked if items[i][1]["cache_control"].get("ttl") == "1h"]
    for index in chosen:
        one_hour = any(i > index for i in long_lived)
        items[index][1]["cache_control"] = {**EPHEMERAL, "ttl": "1h"} if one_hour else dict(EPHEMERAL)
    return len(chosen)

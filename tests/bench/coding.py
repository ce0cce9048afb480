"""The ``coding`` workload: one streaming request shaped like a coding agent's turn, and its answer.

An agent in an editor or a terminal sends a long request (its instructions, its tool definitions,
the conversation so far with earlier tool calls and what they returned) with ``stream: true`` and
``stream_options.include_usage``, and most turns come back as a tool call whose arguments arrive
as a few hundred small deltas. This module builds such a request (about 13 KB, fixed, so runs
compare) and reads the answer's shape.

The fake upstream answers it with a call of the first tool, ``edit_file``, whose three string
arguments are the task's text (its rule: strings are the user's text). Started with
``--tool-chunks UPSTREAM_TOOL_CHUNKS`` it splits those arguments at every space, so each delta
carries a word or a bit of whitespace, as a model's token-sized deltas do, in events of about
360 bytes like OpenAI's (its obfuscation padding included): some 350 events, 125 KB, per stream.
``--tool-chunk-delay UPSTREAM_TOOL_CHUNK_DELAY`` paces them 1 ms apart: a fast model takes 5-20 ms
a token, but 1 ms keeps a stream near 0.4 s while every event still reaches the proxy on its own,
so the proxy pays its per-event cost as it would for a model. The text streams of the ``stream``
workload keep their 20 unpaced chunks.
"""

from __future__ import annotations

import functools
import json
from typing import Any

UPSTREAM_TOOL_CHUNKS = 1000  # more than the arguments have words: one word per delta
UPSTREAM_TOOL_CHUNK_DELAY = 0.001  # seconds before each arguments delta

SYSTEM = """\
You are a coding agent working in the user's repository through the tools below. You read code before \
you change it, make the smallest change that solves the task, and keep the project's style: its naming, \
its error handling, its comments, its test layout. You never invent APIs; when unsure, search the code \
or read the file.

# How to work
- Start from the task. Restate it to yourself in one line, then find the code it touches with \
search_code and read_file. Do not read the whole repository.
- Edit with edit_file: old_string must match the file exactly, including indentation, and must be \
unique in the file; include enough surrounding lines to make it so. Prefer several small edits to \
rewriting a file. Use write_file only for new files.
- After a change, run the relevant tests with run_command (for example `pytest tests/test_x.py -q`). \
If they fail, read the failure, fix the cause, and run them again. Do not weaken a test to make it pass.
- Do not run commands that change anything outside the repository, install packages, or reach the \
network unless the user asked for it.
- When you are done, say in two or three sentences what you changed and how you checked it.

# Style
- Python 3.11, type hints on public functions, f-strings, pathlib for paths.
- Keep functions short; name things for what they are, not how they are computed.
- Comments say why, not what. Docstrings on modules and public functions.
- Errors: raise specific exceptions with a message a person can act on; never swallow an exception \
without logging it.

# Tools
You can call several tools in a row. Each tool result comes back as a message with role "tool". \
Large outputs are cut to their first 200 lines; ask for a line range with read_file when you need more.

# Environment
Working directory: /home/dev/work/ratelimit
Platform: linux
Shell: bash
Git: the working tree is clean at the start of the task; do not commit unless asked.
"""

TASK = """\
The token bucket in src/ratelimit/bucket.py lets a burst through after the clock goes backwards: \
a negative `elapsed` in `refill()` makes `tokens` go negative. Clamp elapsed at zero and make \
`take(n)` refuse n larger than capacity with a ValueError. The failing test is \
tests/test_bucket.py::test_clock_skew. Keep the public API as it is:
    def take(self, n: int = 1) -> bool:
        self.refill()
        if self.tokens >= n:
            self.tokens -= n
            return True
        return False"""


def _function(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    return {"type": "function", "function": {"name": name, "description": description, "parameters": schema}}


def _string(description: str) -> dict[str, str]:
    return {"type": "string", "description": description}


TOOLS = [
    _function(
        "edit_file",
        "Replace one exact occurrence of old_string with new_string in a file. old_string must match the "
        "file byte for byte, including indentation and line endings, and must occur exactly once; add "
        "surrounding lines until it does. Returns the edited region with line numbers.",
        {
            "path": _string("Path of the file, relative to the working directory."),
            "old_string": _string("The exact text to replace."),
            "new_string": _string("The text to put in its place; may be empty to delete."),
        },
        ["path", "old_string", "new_string"],
    ),
    _function(
        "read_file",
        "Read a text file. Returns its lines with line numbers, at most 2000 lines; pass offset and limit "
        "for a range of a longer file.",
        {
            "path": _string("Path of the file, relative to the working directory."),
            "offset": {"type": "integer", "description": "First line to return, from 1."},
            "limit": {"type": "integer", "description": "How many lines to return."},
        },
        ["path"],
    ),
    _function(
        "write_file",
        "Create a file with the given content, or replace a file you have read in full. Parent "
        "directories are created.",
        {"path": _string("Path of the new file."), "content": _string("The file's full content.")},
        ["path", "content"],
    ),
    _function(
        "run_command",
        "Run a shell command in the working directory and return its exit status, stdout and stderr "
        "(cut to 200 lines each). Times out after 120 seconds.",
        {
            "command": _string("The command line, run with bash -c."),
            "timeout": {"type": "integer", "description": "Seconds before the command is stopped."},
        },
        ["command"],
    ),
    _function(
        "search_code",
        "Search the repository for a regular expression (ripgrep syntax). Returns matching lines as "
        "path:line:text, at most 100 matches.",
        {
            "pattern": _string("The regular expression."),
            "glob": _string("Only files matching this glob, e.g. '*.py'."),
        },
        ["pattern"],
    ),
    _function(
        "list_files",
        "List the files under a directory, recursively, skipping what .gitignore ignores.",
        {"path": _string("Directory, relative to the working directory.")},
        ["path"],
    ),
]


def _bucket_module() -> str:
    """What read_file returned: a rate-limiting module with line numbers, about 6 KB."""
    lines = [
        '"""Token buckets for client rate limits."""',
        "",
        "from __future__ import annotations",
        "",
        "import threading",
        "import time",
        "from collections.abc import Callable",
        "from dataclasses import dataclass, field",
        "",
        "",
        "@dataclass",
        "class TokenBucket:",
        '    """Holds up to ``capacity`` tokens and gains ``rate`` tokens per second."""',
        "",
        "    capacity: float",
        "    rate: float",
        "    clock: Callable[[], float] = time.monotonic",
        "    tokens: float = field(init=False)",
        "    _stamp: float = field(init=False)",
        "    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)",
        "",
        "    def __post_init__(self) -> None:",
        "        self.tokens = self.capacity",
        "        self._stamp = self.clock()",
        "",
        "    def refill(self) -> None:",
        "        now = self.clock()",
        "        elapsed = now - self._stamp",
        "        self._stamp = now",
        "        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)",
        "",
        "    def take(self, n: int = 1) -> bool:",
        "        self.refill()",
        "        if self.tokens >= n:",
        "            self.tokens -= n",
        "            return True",
        "        return False",
        "",
        "    def wait(self, n: int = 1) -> float:",
        '        """Block until ``n`` tokens are there; returns the seconds waited."""',
        "        waited = 0.0",
        "        while not self.take(n):",
        "            pause = (n - self.tokens) / self.rate",
        "            time.sleep(pause)",
        "            waited += pause",
        "        return waited",
        "",
    ]
    for kind, per in (("client", "per client id"), ("route", "per route"), ("provider", "per upstream provider")):
        title = kind.capitalize()
        lines += [
            "",
            f"class {title}Limits:",
            f'    """One bucket {per}, created on first use."""',
            "",
            "    def __init__(self, capacity: float, rate: float) -> None:",
            "        self.capacity = capacity",
            "        self.rate = rate",
            "        self._buckets: dict[str, TokenBucket] = {}",
            "        self._lock = threading.Lock()",
            "",
            f"    def bucket(self, {kind}: str) -> TokenBucket:",
            "        with self._lock:",
            f"            found = self._buckets.get({kind})",
            "            if found is None:",
            "                found = TokenBucket(self.capacity, self.rate)",
            f"                self._buckets[{kind}] = found",
            "            return found",
            "",
            f"    def allow(self, {kind}: str, cost: int = 1) -> bool:",
            f"        return self.bucket({kind}).take(cost)",
            "",
            "    def forget_idle(self, idle_seconds: float) -> int:",
            '        """Drop buckets that are full again (their clients went quiet); returns how many."""',
            "        dropped = 0",
            "        with self._lock:",
            "            for key in list(self._buckets):",
            "                b = self._buckets[key]",
            "                b.refill()",
            "                if b.tokens >= b.capacity and time.monotonic() - b._stamp >= idle_seconds:",
            "                    del self._buckets[key]",
            "                    dropped += 1",
            "        return dropped",
            "",
        ]
    return "\n".join(f"{i:>5}\t{line}" for i, line in enumerate(lines, 1))


TEST_OUTPUT = """\
exit status: 1
stdout:
F.......                                                                 [100%]
=================================== FAILURES ===================================
_______________________________ test_clock_skew ________________________________

    def test_clock_skew():
        now = [100.0]
        bucket = TokenBucket(capacity=10, rate=1, clock=lambda: now[0])
        assert bucket.take(10)
        now[0] = 90.0  # the clock steps back ten seconds
        assert not bucket.take(1)
        now[0] = 91.0
>       assert not bucket.take(5), "a step back must not turn into a burst"
E       AssertionError: a step back must not turn into a burst
E       assert not True
E        +  where True = <bound method TokenBucket.take of TokenBucket(capacity=10, rate=1, tokens=-4.0)>(5)

tests/test_bucket.py:41: AssertionError
=========================== short test summary info ============================
FAILED tests/test_bucket.py::test_clock_skew - AssertionError: a step back must not turn into a burst
1 failed, 7 passed in 0.04s
stderr:
"""


def _call(call_id: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}


@functools.cache
def request_body(model: str) -> bytes:
    """The request: instructions, six tools, the task, and two tool round-trips (read the file, run the test)."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": TASK},
        {
            "role": "assistant",
            "content": "I'll read the bucket module first.",
            "tool_calls": [_call("call_bench0001", "read_file", {"path": "src/ratelimit/bucket.py"})],
        },
        {"role": "tool", "tool_call_id": "call_bench0001", "content": _bucket_module()},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [_call("call_bench0002", "run_command", {"command": "pytest tests/test_bucket.py -q"})],
        },
        {"role": "tool", "tool_call_id": "call_bench0002", "content": TEST_OUTPUT},
    ]
    body = {
        "model": model,
        "messages": messages,
        "tools": TOOLS,
        "tool_choice": "auto",
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0,
        "max_tokens": 4096,
    }
    return json.dumps(body).encode()


def stream_shape(body: bytes) -> dict[str, int]:
    """What a coding answer looked like on the wire: events, bytes, and how many carried arguments."""
    events = [e for e in body.split(b"\n\n") if e.strip()]
    return {
        "events": len(events),
        "bytes": len(body),
        "argument_deltas": sum(1 for e in events if b'"arguments"' in e),
    }

"""Running blocking work (disk, keychain, SQLite) off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def in_thread(func: Callable[..., T], *args: object) -> T:
    """Run ``func(*args)`` in the default executor and await its result."""
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)

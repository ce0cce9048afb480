"""RequestProgress: a running stream's text, batched, only while bodies are captured (the desktop
request log's live view)."""

from __future__ import annotations

from proxy.domain.events import GatewayEvents, RequestProgress
from tests.helpers import DEMO_CONFIG, gateway_context

PROMPT = " ".join(f"word{i}" for i in range(30))


def config(store_bodies: bool) -> dict:
    return {
        **DEMO_CONFIG,
        "providers": [{"id": "demo", "preset": "demo", "demo": {"pace_ms": 20}}],  # ~0.6 s of stream
        "logging": {"store_bodies": store_bodies},
    }


async def stream_once(tmp_path, store_bodies: bool) -> tuple[str, list[RequestProgress], str]:
    events = GatewayEvents()
    seen: list[RequestProgress] = []
    events.connect(lambda e: seen.append(e) if isinstance(e, RequestProgress) else None)
    async with gateway_context(tmp_path, config(store_bodies), events=events) as ctx:
        stream = await ctx.openai().chat.completions.create(
            model="demo", messages=[{"role": "user", "content": PROMPT}], stream=True
        )
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        row_id = ctx.rows()[-1].id
    return text, seen, row_id


async def test_progress_carries_the_streamed_text_in_batches(tmp_path):
    text, seen, row_id = await stream_once(tmp_path, store_bodies=True)
    assert "word29" in text
    assert {e.id for e in seen} == {row_id}
    assert "".join(e.text for e in seen) == text  # every piece, in order, nothing twice
    chunks = text.count("word")
    assert 2 <= len(seen) < chunks  # batched (every 0.1 s), not one event per chunk


async def test_no_progress_without_body_capture(tmp_path):
    text, seen, _ = await stream_once(tmp_path, store_bodies=False)
    assert "word29" in text and seen == []

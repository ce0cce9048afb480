"""Chat Completions streams -> Responses API streams: every event valid for the openai SDK, with no
unknown fields, and streams reassembling through the SDK's own accumulator to the non-stream answer
(proxy/translate/responses_stream.py); and the fake OpenAI upstream's ``/v1/responses``, driven by
the SDK directly, against which the translated event sequence is compared."""

from __future__ import annotations

import json
from typing import Any

import openai
import orjson
import pydantic
import pytest
from openai.lib.streaming.responses._responses import ResponseStreamState
from openai.types.responses import Response, ResponseStreamEvent

from proxy.translate.common import TranslationError
from proxy.translate.responses_answer import chat_completion_to_response
from proxy.translate.responses_stream import ResponsesStream
from tests.fakes.openai_upstream import FakeOpenAIUpstream, OpenAIError, Reply, Stream
from tests.proxy.translate.responses_samples import (
    COMPLETION,
    REQUEST,
    USAGE,
    completion_with,
    no_unknown_fields,
    sdk_response,
)

EVENT = pydantic.TypeAdapter(ResponseStreamEvent)

# Fields the spec has (and OpenAI sends) that the SDK's models lack
SPEC_ONLY = {"response.function_call_arguments.done": {"name"}}


def parse_events(raw: list[bytes]) -> list[dict[str, Any]]:
    """SSE bytes -> payloads; each framed as ``event: X`` + one ``data:`` line, valid for the SDK."""
    events = []
    for frame in raw:
        assert frame.endswith(b"\n\n")
        head, data = frame[:-2].split(b"\n")
        payload = orjson.loads(data.removeprefix(b"data: "))
        assert head == b"event: " + payload["type"].encode()
        event = EVENT.validate_python(payload)
        no_unknown_fields(event, allowed=SPEC_ONLY.get(payload["type"], set()))
        events.append(payload)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    return events


def sdk_accumulate(events: list[dict[str, Any]]) -> Any:
    """Run the events through the SDK's own stream accumulator (what ``responses.stream()`` uses);
    it checks indexes and item identities. Returns the final response it assembled."""
    state = ResponseStreamState(input_tools=openai.omit, text_format=openai.omit)
    final = None
    for payload in events:
        for event in state.handle_event(EVENT.validate_python(payload)):
            if event.type in ("response.completed", "response.incomplete"):
                final = event.response
    return final


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "up",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def run_stream(
    chunks: list[dict[str, Any]], request: dict[str, Any] | None = None
) -> tuple[ResponsesStream, list[dict[str, Any]]]:
    stream = ResponsesStream(request or REQUEST, "resp_abc", 1, "codex-route")
    raw = stream.start()
    for c in chunks:
        raw += stream.feed(c)
    raw += stream.finish()
    return stream, parse_events(raw)


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


# ------------------------------------------------------------------------------------------------
# Stream
# ------------------------------------------------------------------------------------------------


def chunks_of(completion: dict[str, Any], pieces: int = 2) -> list[dict[str, Any]]:
    """A chat stream (as OpenAI-compatible servers send it) of the same answer as ``completion``."""
    message = completion["choices"][0]["message"]

    def split(text: str) -> list[str]:
        step = max(1, -(-len(text) // pieces))
        return [text[i : i + step] for i in range(0, len(text), step)]

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"reasoning_content": p}) for p in split(message.get("reasoning_content") or "")]
    out += [chunk({"content": p}) for p in split(message.get("content") or "")]
    for i, call in enumerate(message.get("tool_calls") or []):
        head = {"index": i, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"]}}
        out.append(chunk({"tool_calls": [{**head, "function": {**head["function"], "arguments": ""}}]}))
        out += [
            chunk({"tool_calls": [{"index": i, "function": {"arguments": p}}]})
            for p in split(call["function"]["arguments"])
        ]
    out.append(chunk({}, completion["choices"][0]["finish_reason"]))
    out.append({**chunk({}), "choices": [], "usage": completion["usage"]})
    return out


def test_text_stream_has_openais_exact_event_sequence() -> None:
    completion = completion_with({"content": "Hello there"})
    stream, events = run_stream(chunks_of(completion))
    assert kinds(events) == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    created = events[0]["response"]
    assert created["status"] == "in_progress" and created["output"] == [] and created["usage"] is None
    added = events[2]
    assert added["output_index"] == 0 and added["item"]["status"] == "in_progress" and added["item"]["content"] == []
    assert events[3]["part"] == {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    delta = events[4]
    assert {k: delta[k] for k in ("item_id", "output_index", "content_index", "logprobs")} == {
        "item_id": added["item"]["id"],
        "output_index": 0,
        "content_index": 0,
        "logprobs": [],
    }
    assert events[6]["text"] == "Hello there" and events[8]["item"]["status"] == "completed"
    final = events[-1]["response"]
    assert final["status"] == "completed" and final["usage"]["input_tokens"] == 50
    assert stream.usage == USAGE
    assert stream.response() == final


def test_stream_reassembles_to_the_non_stream_answer() -> None:
    """Reasoning, text, a function call, a custom tool call and a namespaced call: through the
    SDK's accumulator, the stream gives exactly the non-stream translation's output and usage."""
    stream, events = run_stream(chunks_of(COMPLETION, pieces=3))
    whole = chat_completion_to_response(COMPLETION, REQUEST, "resp_abc", 1)
    assert events[-1]["response"]["output"] == whole["output"]
    assert events[-1]["response"]["usage"] == whole["usage"]
    final = sdk_accumulate(events)
    assert final.output_text == "Running it."
    assert [i.model_dump(exclude_none=True) for i in final.output] == [
        i.model_dump(exclude_none=True) for i in sdk_response(whole).output
    ]
    assert kinds(events).count("response.output_item.added") == kinds(events).count("response.output_item.done") == 5
    indexes = [e["output_index"] for e in events if e["type"] == "response.output_item.added"]
    assert indexes == [0, 1, 2, 3, 4]
    by_type = {t: [e for e in events if e["type"] == t] for t in set(kinds(events))}
    assert "".join(e["delta"] for e in by_type["response.reasoning_summary_text.delta"]) == "The user wants files."
    assert by_type["response.reasoning_summary_part.added"][0]["part"] == {"type": "summary_text", "text": ""}
    args = [e for e in by_type["response.function_call_arguments.delta"] if e["output_index"] == 2]
    assert "".join(e["delta"] for e in args) == '{"cmd":"ls"}' and len(args) == 3  # streamed live
    assert by_type["response.function_call_arguments.done"][0]["arguments"] == '{"cmd":"ls"}'
    assert by_type["response.custom_tool_call_input.done"][0]["input"] == "*** Begin Patch\n"
    added = {e["output_index"]: e["item"] for e in by_type["response.output_item.added"]}
    assert added[2]["arguments"] == "" and added[2]["status"] == "in_progress" and added[3]["input"] == ""
    assert added[4]["namespace"] == "agents" and added[4]["name"] == "spawn"


def test_sequential_tool_calls_come_one_after_the_other() -> None:
    completion = completion_with(
        {"content": None, "tool_calls": COMPLETION["choices"][0]["message"]["tool_calls"][:1] * 1}, "tool_calls"
    )
    completion["choices"][0]["message"]["tool_calls"].append(
        {"id": "call_b", "type": "function", "function": {"name": "exec_command", "arguments": '{"cmd":"pwd"}'}}
    )
    _, events = run_stream(chunks_of(completion))
    assert kinds(events)[2:] == [
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    final = sdk_accumulate(events)
    assert [(i.call_id, i.arguments) for i in final.output] == [("call_9", '{"cmd":"ls"}'), ("call_b", '{"cmd":"pwd"}')]


def test_interleaved_parallel_tool_calls_are_sent_in_order() -> None:
    def call(index: int, **fields: Any) -> dict[str, Any]:
        return chunk({"tool_calls": [{"index": index, **fields}]})

    chunks = [
        chunk({"role": "assistant", "content": "Both:"}),
        call(0, id="call_a", type="function", function={"name": "exec_command", "arguments": ""}),
        call(1, id="call_b", type="function", function={"name": "exec_command", "arguments": '{"cmd"'}),
        call(0, function={"arguments": '{"cmd"'}),
        call(1, function={"arguments": ':"pwd"}'}),
        call(0, function={"arguments": ':"ls"}'}),
        chunk({}, "tool_calls"),
    ]
    stream, events = run_stream(chunks)
    final = sdk_accumulate(events)
    assert [(i.type, getattr(i, "call_id", None)) for i in final.output] == [
        ("message", None),
        ("function_call", "call_a"),
        ("function_call", "call_b"),
    ]
    assert final.output[1].arguments == '{"cmd":"ls"}' and final.output[2].arguments == '{"cmd":"pwd"}'
    # items never overlap: each added is followed by its own done before the next added
    opened = None
    for e in events:
        if e["type"] == "response.output_item.added":
            assert opened is None
            opened = e["output_index"]
        elif e["type"] == "response.output_item.done":
            assert opened == e["output_index"]
            opened = None
        elif "output_index" in e:
            assert e["output_index"] == opened
    assert stream.usage is None and events[-1]["response"]["usage"] is None


def test_servers_that_number_every_call_zero_or_send_whole_calls() -> None:
    chunks = [
        chunk({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "exec_command", "arguments": "{}"}}]}),
        chunk({"tool_calls": [{"index": 0, "id": "c2", "function": {"name": "exec_command", "arguments": "{}"}}]}),
        chunk(
            {
                "tool_calls": [
                    {"index": 2, "id": "c3", "function": {"name": "exec_command", "arguments": '{"a":1}'}},
                    {"index": 3, "id": "c4", "function": {"name": "apply_patch", "arguments": '{"input":"p"}'}},
                ]
            }
        ),
        chunk({}, "tool_calls"),
    ]
    _, events = run_stream(chunks)
    final = sdk_accumulate(events)
    assert [i.call_id for i in final.output] == ["c1", "c2", "c3", "c4"]
    assert final.output[2].arguments == '{"a":1}' and final.output[3].input == "p"


def test_a_tool_call_whose_id_and_name_come_late() -> None:
    chunks = [
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "id": "late", "function": {"name": "exec_command"}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
        chunk({}, "tool_calls"),
    ]
    _, events = run_stream(chunks)
    item = sdk_accumulate(events).output[0]
    assert (item.call_id, item.name, item.arguments) == ("late", "exec_command", "{}")


def test_reasoning_then_text_are_two_items_with_summary_events() -> None:
    _, events = run_stream(
        [chunk({"reasoning": "Think"}), chunk({"reasoning": "ing."}), chunk({"content": "Done."}), chunk({}, "stop")]
    )
    assert kinds(events)[2:9] == [
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
    ]
    assert events[2]["item"] == {"id": events[2]["item"]["id"], "type": "reasoning", "summary": []}
    done = events[8]["item"]
    assert done["summary"] == [{"type": "summary_text", "text": "Thinking."}]
    final = sdk_accumulate(events)
    assert [i.type for i in final.output] == ["reasoning", "message"] and final.output_text == "Done."


def test_refusal_deltas() -> None:
    _, events = run_stream([chunk({"refusal": "I can't"}), chunk({"refusal": " help."}), chunk({}, "stop")])
    assert "response.refusal.delta" in kinds(events)
    done = next(e for e in events if e["type"] == "response.refusal.done")
    assert done["refusal"] == "I can't help."
    assert events[-1]["response"]["output"][0]["content"] == [{"type": "refusal", "refusal": "I can't help."}]


def test_length_ends_with_response_incomplete() -> None:
    _, events = run_stream([chunk({"content": "Once upon"}), chunk({}, "length")])
    assert events[-1]["type"] == "response.incomplete"
    assert events[-1]["response"]["status"] == "incomplete"
    assert events[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert sdk_accumulate(events).output_text == "Once upon"


def test_usage_only_chunks_are_accounted_not_emitted() -> None:
    stream = ResponsesStream(REQUEST, "resp_abc", 1, "m")
    stream.start()
    assert stream.feed({"choices": [], "usage": USAGE}) == []
    assert stream.usage == USAGE
    assert stream.feed({"choices": [{"index": 1, "delta": {"content": "other choice"}}]}) == []


def test_an_empty_stream_still_has_a_message() -> None:
    _, events = run_stream([chunk({"role": "assistant"}), chunk({}, "stop")])
    assert (
        events[-1]["response"]["output"]
        == chat_completion_to_response(completion_with({"content": None}), REQUEST, "resp_abc", 1)["output"]
    )


def test_a_failed_stream_ends_with_response_failed() -> None:
    stream = ResponsesStream(REQUEST, "resp_abc", 1, "m")
    raw = stream.start() + stream.feed(chunk({"content": "Hel"}))
    raw += stream.feed(chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "exec_command"}}]}))
    raw += stream.fail("the upstream reset the connection", "stream_interrupted")
    events = parse_events(raw)
    last = events[-1]
    assert last["type"] == "response.failed" and last["response"]["status"] == "failed"
    assert last["response"]["error"]["code"] == "server_error"
    assert "stream_interrupted" in last["response"]["error"]["message"]
    assert [i["type"] for i in last["response"]["output"]] == ["message", "function_call"]
    assert "response.completed" not in kinds(events)
    known = ResponsesStream(REQUEST, "resp_abc", 1, "m")
    failed = parse_events(known.start() + known.fail("slow down", "rate_limit_exceeded"))[-1]
    assert failed["response"]["error"] == {"code": "rate_limit_exceeded", "message": "slow down"}


def test_going_back_to_a_finished_tool_call_is_a_translation_error() -> None:
    stream = ResponsesStream(REQUEST, "resp_abc", 1, "m")
    stream.start()
    stream.feed(chunk({"tool_calls": [{"index": 0, "id": "c", "function": {"name": "exec_command"}}]}))
    stream.feed(chunk({"content": "text in between"}))
    with pytest.raises(TranslationError):
        stream.feed(chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}))


# ------------------------------------------------------------------------------------------------
# The fake OpenAI upstream's /v1/responses, driven by the SDK directly
# ------------------------------------------------------------------------------------------------

FAKE_KEY = "sk-fake-responses-0123456789abcdef"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "strict": True,
}


@pytest.fixture
async def fake_sdk():
    async with FakeOpenAIUpstream(api_key=FAKE_KEY) as fake:
        client = openai.AsyncOpenAI(base_url=fake.base_url, api_key=FAKE_KEY, max_retries=0)
        yield fake, client
        await client.close()


def no_unknown_fields_but_store(response: Response) -> None:
    """What the real API sends beyond the SDK's model: ``store``."""
    no_unknown_fields(response, allowed={"store"})


async def test_fake_responses_create_and_stream_with_the_sdk(fake_sdk) -> None:
    fake, client = fake_sdk
    response = await client.responses.create(model="gpt-4o-mini", input="ping", instructions="Be brief.")
    assert response.output_text == "Hello from fake OpenAI Responses! You said: ping"
    assert response.status == "completed" and response.usage.total_tokens > 0
    assert response.instructions == "Be brief."
    sent = fake.requests[-1]
    assert sent.path == "/v1/responses" and sent.headers["Authorization"] == f"Bearer {FAKE_KEY}"
    assert sent.json["input"] == "ping"

    events = [e async for e in await client.responses.create(model="gpt-4o-mini", input="ping", stream=True)]
    for event in events:
        if event.type in ("response.created", "response.in_progress", "response.completed"):
            no_unknown_fields_but_store(event.response)
        else:
            no_unknown_fields(event)
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == response.output_text and events[-1].type == "response.completed"

    async with client.responses.stream(model="gpt-4o-mini", input="ping") as stream:
        async for _ in stream:
            pass
        final = await stream.get_final_response()
    assert final.output_text == response.output_text
    no_unknown_fields_but_store(final)


async def test_fake_answers_a_function_call_and_a_custom_tool_call(fake_sdk) -> None:
    fake, client = fake_sdk
    call = await client.responses.create(model="gpt-4o-mini", input="use tool: Paris", tools=[WEATHER])
    item = call.output[0]
    assert item.type == "function_call" and item.name == "get_weather"
    assert json.loads(item.arguments) == {"city": "use tool: Paris"}
    forced = await client.responses.create(model="gpt-4o-mini", input="Paris", tools=[WEATHER], tool_choice="required")
    assert forced.output[0].type == "function_call"
    plain = await client.responses.create(model="gpt-4o-mini", input="Paris", tools=[WEATHER])
    assert plain.output[0].type == "message"

    async with client.responses.stream(
        model="gpt-4o-mini", input="Paris", tools=[WEATHER], tool_choice="required"
    ) as stream:
        deltas = [e.delta async for e in stream if e.type == "response.function_call_arguments.delta"]
        final = await stream.get_final_response()
    assert "".join(deltas) == final.output[0].arguments and json.loads(final.output[0].arguments)

    custom = {"type": "custom", "name": "apply_patch", "description": "Patch files"}
    events = [
        e
        async for e in await client.responses.create(
            model="gpt-4o-mini", input="add a file", tools=[custom], tool_choice="required", stream=True
        )
    ]
    done = [e for e in events if e.type == "response.output_item.done"][0].item
    assert done.type == "custom_tool_call" and done.input == "add a file"
    assert "".join(e.delta for e in events if e.type == "response.custom_tool_call_input.delta") == "add a file"


async def test_fake_scripted_behaviours_apply_to_responses(fake_sdk) -> None:
    fake, client = fake_sdk
    fake.script(OpenAIError(429, "Rate limit reached", type="requests", code="rate_limit_exceeded"))
    with pytest.raises(openai.RateLimitError):
        await client.responses.create(model="gpt-4o-mini", input="x")
    fake.script(Reply(content="Scripted answer"))
    assert (await client.responses.create(model="gpt-4o-mini", input="x")).output_text == "Scripted answer"
    with pytest.raises(openai.AuthenticationError):
        await openai.AsyncOpenAI(base_url=fake.base_url, api_key="sk-wrong-key-000000", max_retries=0).responses.create(
            model="gpt-4o-mini", input="x"
        )
    with pytest.raises(openai.NotFoundError):
        await client.responses.create(model="no-such-model", input="x")

    fake.script(Stream(chunks=["Hel", "lo"]))
    events = [e async for e in await client.responses.create(model="gpt-4o-mini", input="x", stream=True)]
    assert [e.delta for e in events if e.type == "response.output_text.delta"] == ["Hel", "lo"]

    fake.script(Stream(chunks=["Hel"], then="eof"))
    events = [e async for e in await client.responses.create(model="gpt-4o-mini", input="x", stream=True)]
    assert events[-1].type == "response.output_text.delta"

    fake.script(Stream(chunks=["Hel"], then="error_event"))
    events = [e async for e in await client.responses.create(model="gpt-4o-mini", input="x", stream=True)]
    assert events[-1].type == "error" and events[-1].message == "Upstream provider error mid-stream"

    fake.script(Stream(chunks=["Hel"], then="reset"))
    with pytest.raises(openai.APIError):
        async for _ in await client.responses.create(model="gpt-4o-mini", input="x", stream=True):
            pass

    limited = await client.responses.create(model="gpt-4o-mini", input="x", max_output_tokens=3)
    assert limited.status == "incomplete" and limited.incomplete_details.reason == "max_output_tokens"
    assert len(limited.output_text.split()) == 3


async def test_fake_and_translation_send_the_same_event_sequence(fake_sdk) -> None:
    """The fake mimics OpenAI; the translation of the equivalent chat stream has the same shape."""
    _, client = fake_sdk
    for tools, choice in (([], None), ([WEATHER], "required")):
        extra: dict[str, Any] = {"tools": tools, "tool_choice": choice} if tools else {}
        native = [
            e.type async for e in await client.responses.create(model="gpt-4o-mini", input="hi", stream=True, **extra)
        ]
        whole = await client.responses.create(model="gpt-4o-mini", input="hi", **extra)
        item = whole.output[0]
        if item.type == "message":
            message = {"content": whole.output_text}
        else:
            message = {
                "content": None,
                "tool_calls": [
                    {
                        "id": item.call_id,
                        "type": "function",
                        "function": {"name": item.name, "arguments": item.arguments},
                    }
                ],
            }
        usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        _, events = run_stream(chunks_of(completion_with(message, usage=usage)), {"model": "m", "input": "hi", **extra})
        assert collapse_deltas(kinds(events)) == collapse_deltas(native)


def collapse_deltas(names: list[str]) -> list[str]:
    """Event types with each run of deltas as one (how many deltas depends on the chunking)."""
    return [n for i, n in enumerate(names) if i == 0 or n != names[i - 1] or not n.endswith(".delta")]

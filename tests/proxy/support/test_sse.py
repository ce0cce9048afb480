"""SSE framing: byte-exact events whatever the chunking and line endings."""

from __future__ import annotations

from proxy.support.sse import SSEParser, parse_event

STREAM = (
    b": keepalive\n\n"
    b'data: {"a": 1}\n\n'
    b'event: message_start\ndata: {"b":\ndata: 2}\n\n'
    b"data: caf\xc3\xa9\r\n\r\n"
    b"data: [DONE]\n\n"
)


def feed_all(chunks):
    parser = SSEParser()
    events = [e for c in chunks for e in parser.feed(c)]
    return events, parser.pending


def test_events_and_fields():
    events, pending = feed_all([STREAM])
    assert pending == b""
    assert [e.data for e in events] == [None, b'{"a": 1}', b'{"b":\n2}', "café".encode(), b"[DONE]"]
    assert events[2].event == b"message_start"
    assert b"".join(e.raw for e in events) == STREAM


def test_split_at_every_offset_is_byte_identical():
    whole, _ = feed_all([STREAM])
    for cut in range(1, len(STREAM)):
        events, pending = feed_all([STREAM[:cut], STREAM[cut:]])
        assert [(e.raw, e.data) for e in events] == [(e.raw, e.data) for e in whole], cut
        assert pending == b""


def test_one_byte_at_a_time_and_incomplete_tail():
    events, pending = feed_all([bytes([b]) for b in STREAM + b"data: partial"])
    assert len(events) == 5 and pending == b"data: partial"


def test_crlf_and_cr_only():
    events, _ = feed_all([b"data: x\r\rdata: y\r\n\r\n"])
    assert [e.data for e in events] == [b"x", b"y"]


def test_parse_event_without_space():
    assert parse_event(b"data:{}\n\n").data == b"{}"

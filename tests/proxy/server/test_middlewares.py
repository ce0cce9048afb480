"""The security gates and bad-input handling: each bad input gets its documented status and
OpenAI-shaped error, nothing is forwarded, a log row says "rejected", and the gateway keeps serving."""

from __future__ import annotations

import asyncio
import gzip

import aiohttp
import orjson
import pytest

from tests.helpers import ACCESS_KEY, gateway_context

CHAT = {"model": "demo", "messages": [{"role": "user", "content": "hi"}]}


def assert_openai_error(body: dict, code: str | None = None) -> dict:
    assert set(body) == {"error"}
    err = body["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert isinstance(err["message"], str) and err["message"]
    if code is not None:
        assert err["code"] == code, err
    return err


async def raw_request(port: int, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """Send bytes as they are (for headers aiohttp's client would not let us send)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(head + body)
    await writer.drain()
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    await writer.wait_closed()
    status = int(data.split(b" ", 2)[1])
    return status, data.partition(b"\r\n\r\n")[2]


async def post(ctx, body=CHAT, *, headers=None, data: bytes | None = None):
    async with aiohttp.ClientSession() as s:
        async with s.post(
            f"{ctx.base_url}/v1/chat/completions",
            data=data if data is not None else orjson.dumps(body),
            headers=headers if headers is not None else ctx.headers(),
        ) as resp:
            return resp.status, await resp.json(content_type=None), resp.headers


async def still_serving(ctx) -> None:
    status, body, _ = await post(ctx)
    assert status == 200, body


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1.nip.io:{port}",
        "localhost.evil.example:{port}",
        ":{port}",
        "127.0.0.1:1",
        "127.1:{port}",
        "2130706433:{port}",
        "0x7f.0.0.1:{port}",
        "localhost.:{port}",
        "localhost",
        "127.0.0.1",
    ],
)
async def test_foreign_host_is_403(tmp_path, host):
    async with gateway_context(tmp_path) as ctx:
        status, body, _ = await post(ctx, headers=ctx.headers(Host=host.format(port=ctx.port)))
        assert status == 403
        assert_openai_error(body, "forbidden_host")
        row = ctx.rows()[-1]
        assert (row.status, row.http_status, row.provider, row.attempts) == ("rejected", 403, None, 0)
        await still_serving(ctx)


@pytest.mark.parametrize("host", ["LOCALHOST:{port}", "127.0.0.1:{port}", "[::1]:{port}", "localhost:{port}"])
async def test_loopback_hosts_accepted(tmp_path, host):
    async with gateway_context(tmp_path) as ctx:
        status, body, _ = await post(ctx, headers=ctx.headers(Host=host.format(port=ctx.port)))
        assert status == 200, body


async def test_missing_and_duplicate_host(tmp_path):
    async with gateway_context(tmp_path) as ctx:
        body = orjson.dumps(CHAT)
        common = (
            f"Authorization: Bearer {ACCESS_KEY}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n"
        ).encode()
        status, _ = await raw_request(ctx.port, b"POST /v1/chat/completions HTTP/1.1\r\n" + common + b"\r\n", body)
        assert status in (400, 403)  # aiohttp's parser refuses a missing Host itself (400)
        host = f"Host: 127.0.0.1:{ctx.port}\r\n".encode()
        status, _ = await raw_request(
            ctx.port, b"POST /v1/chat/completions HTTP/1.1\r\n" + host + host + common + b"\r\n", body
        )
        assert status in (400, 403)
        status, resp = await raw_request(
            ctx.port, b"POST /v1/chat/completions HTTP/1.1\r\n" + host + common + b"\r\n", body
        )
        assert status == 200, resp


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", "http://127.0.0.1:9", "http://192.168.1.5", "chrome-extension://x"]
)
async def test_foreign_origin_is_403_and_no_cors(tmp_path, origin):
    async with gateway_context(tmp_path) as ctx:
        status, body, headers = await post(ctx, headers=ctx.headers(Origin=origin))
        assert status == 403
        assert_openai_error(body, "forbidden_origin")
        assert not any(h.lower().startswith("access-control-") for h in headers)
        async with aiohttp.ClientSession() as s:
            async with s.options(
                f"{ctx.base_url}/v1/chat/completions",
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": "POST",
                    "Access-Control-Request-Private-Network": "true",
                },
            ) as resp:
                assert resp.status == 403
                assert not any(h.lower().startswith("access-control-") for h in resp.headers)


async def test_allowed_origin_gets_exact_cors(tmp_path):
    config = {
        "server": {"allowed_origins": ["https://chat.example"]},
        "providers": [{"id": "demo", "preset": "demo", "demo": {"pace_ms": 0}}],
        "routes": [{"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]}],
    }
    async with gateway_context(tmp_path, config) as ctx:
        async with aiohttp.ClientSession() as s:
            async with s.options(
                f"{ctx.base_url}/v1/chat/completions",
                headers={"Origin": "https://chat.example", "Access-Control-Request-Method": "POST"},
            ) as resp:
                assert resp.status == 204
                assert resp.headers["Access-Control-Allow-Origin"] == "https://chat.example"
                assert resp.headers["Access-Control-Allow-Headers"] == (
                    "authorization, content-type, x-api-key, anthropic-version, openai-organization, x-goog-api-key"
                )
                assert "Access-Control-Allow-Private-Network" not in resp.headers
        status, _, headers = await post(ctx, headers=ctx.headers(Origin="https://chat.example"))
        assert status == 200
        assert headers["Access-Control-Allow-Origin"] == "https://chat.example"
        assert headers["Vary"] == "Origin"
        status, body, _ = await post(
            ctx, headers={"Origin": "https://chat.example", "Content-Type": "application/json"}
        )
        assert status == 401, "an allowed origin still needs the access key"


@pytest.mark.parametrize(
    ("auth", "code"),
    [
        ({}, "missing_access_key"),
        ({"Authorization": "Bearer wrong"}, "invalid_access_key"),
        ({"Authorization": f"Bearer {ACCESS_KEY[:-1]}x"}, "invalid_access_key"),
        ({"Authorization": f"Basic {ACCESS_KEY}"}, "missing_access_key"),
        ({"x-api-key": "nope-nope"}, "invalid_access_key"),
    ],
)
async def test_access_key_required(tmp_path, auth, code):
    async with gateway_context(tmp_path) as ctx:
        status, body, _ = await post(ctx, headers={"Content-Type": "application/json", **auth})
        assert status == 401
        err = assert_openai_error(body, code)
        presented = next(iter(auth.values()), "").removeprefix("Bearer ").removeprefix("Basic ")
        if presented:
            assert presented not in orjson.dumps(body).decode(), "401 must not echo the presented key"
        assert err["type"] == "authentication_error"
        rows = ctx.rows()
        assert rows[-1].status == "rejected" and rows[-1].client is None


async def test_x_api_key_accepted_and_client_named(tmp_path):
    async with gateway_context(tmp_path) as ctx:
        status, _, _ = await post(ctx, headers={"x-api-key": ACCESS_KEY, "Content-Type": "application/json"})
        assert status == 200
        assert ctx.rows()[-1].client == "env"


async def test_auth_can_be_turned_off(tmp_path):
    config = {
        "server": {"require_auth": False},
        "providers": [{"id": "demo", "preset": "demo"}],
        "routes": [{"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]}],
    }
    async with gateway_context(tmp_path, config) as ctx:
        status, _, _ = await post(ctx, headers={"Content-Type": "application/json"})
        assert status == 200
        status, _, _ = await post(ctx, headers={"Content-Type": "application/json", "Host": "evil.example"})
        assert status == 403, "Host and Origin checks stay on without auth"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]
)
async def test_non_json_content_type_is_415(tmp_path, content_type):
    async with gateway_context(tmp_path) as ctx:
        headers = {"Authorization": f"Bearer {ACCESS_KEY}"}
        if content_type:
            headers["Content-Type"] = content_type
        async with aiohttp.ClientSession() as s:
            async with s.post(
                f"{ctx.base_url}/v1/chat/completions",
                data=orjson.dumps(CHAT),
                headers=headers,
                skip_auto_headers=["Content-Type"],
            ) as resp:
                assert resp.status == 415
                assert_openai_error(await resp.json(), "unsupported_media_type")
        await still_serving(ctx)


async def test_compressed_body_is_415(tmp_path):
    async with gateway_context(tmp_path) as ctx:
        status, body, _ = await post(
            ctx, data=gzip.compress(orjson.dumps(CHAT)), headers=ctx.headers(**{"Content-Encoding": "gzip"})
        )
        assert status == 415
        assert_openai_error(body, "unsupported_media_type")


async def test_oversize_body_is_413(tmp_path):
    config = {
        "server": {"max_body_bytes": 4096},
        "providers": [{"id": "demo", "preset": "demo"}],
        "routes": [{"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]}],
    }
    async with gateway_context(tmp_path, config) as ctx:
        big = {**CHAT, "messages": [{"role": "user", "content": "x" * 10_000}]}
        status, body, _ = await post(ctx, big)
        assert status == 413
        assert_openai_error(body, "request_too_large")

        async def chunks():
            for _ in range(10):
                yield b" " * 1000
            yield orjson.dumps(CHAT)

        async with aiohttp.ClientSession() as s:
            async with s.post(f"{ctx.base_url}/v1/chat/completions", data=chunks(), headers=ctx.headers()) as resp:
                assert resp.status == 413, await resp.text()
        # a declared huge body is refused before it is sent
        head = (
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{ctx.port}\r\n"
            f"Authorization: Bearer {ACCESS_KEY}\r\nContent-Type: application/json\r\n"
            "Content-Length: 10737418240\r\nConnection: close\r\n\r\n"
        ).encode()
        status, _ = await raw_request(ctx.port, head, b"{")
        assert status == 413
        await still_serving(ctx)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b'{"model": "demo", "messages": [', "not valid JSON"),
        (b'{"model": "demo"} trailing', "not valid JSON"),
        (b"\xc3\x28", "not valid JSON"),
        (b'{"model": NaN}', "not valid JSON"),
        (b"", "empty"),
        (b"[1, 2]", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"[" * 100_000, "not valid JSON"),
    ],
)
async def test_malformed_json_is_400(tmp_path, data, fragment):
    async with gateway_context(tmp_path) as ctx:
        status, body, _ = await post(ctx, data=data)
        assert status == 400
        assert fragment in assert_openai_error(body, "invalid_json")["message"]
        await still_serving(ctx)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": 5, "messages": []}, "model"),
        ({"model": "demo"}, "messages"),
        ({"model": "demo", "messages": "hello"}, "messages"),
        ({"model": "demo", "messages": []}, "messages"),
        ({"model": "demo", "messages": [{"content": "x"}]}, "messages[0].role"),
        ({"model": "demo", "messages": [{"role": "user", "content": "x"}, {"role": "robot"}]}, "messages[1].role"),
        ({"model": "demo", "messages": [{"role": "user", "content": 7}]}, "messages[0].content"),
        ({**CHAT, "stream": "yes"}, "stream"),
        ({**CHAT, "stream_options": {"include_usage": 1}}, "stream_options.include_usage"),
        ({**CHAT, "n": "2"}, "n"),
        ({**CHAT, "tools": {"type": "function"}}, "tools"),
    ],
)
async def test_wrong_types_name_the_field(tmp_path, body, param):
    async with gateway_context(tmp_path) as ctx:
        status, resp, _ = await post(ctx, body)
        assert status == 400
        assert assert_openai_error(resp)["param"] == param


@pytest.mark.parametrize(
    "extra",
    [
        {"api_base": "http://127.0.0.1:9/v1"},
        {"base_url": "http://127.0.0.1:9/v1"},
        {"api_key": "sk-attacker"},
        {"user_config": {"api_base": "http://127.0.0.1:9"}},
        {"metadata": {"deep": {"api_base": "http://127.0.0.1:9"}}},
        {"extra_headers": {"X-Evil": "1"}},
    ],
)
async def test_fields_that_redirect_keys_are_rejected(tmp_path, extra):
    async with gateway_context(tmp_path) as ctx:
        status, body, _ = await post(ctx, {**CHAT, **extra})
        assert status == 400
        assert_openai_error(body, "forbidden_parameter")
        assert ctx.rows()[-1].attempts == 0


async def test_tool_schema_may_name_a_property_base_url(tmp_path):
    tool = {
        "type": "function",
        "function": {"name": "f", "parameters": {"type": "object", "properties": {"base_url": {"type": "string"}}}},
    }
    async with gateway_context(tmp_path) as ctx:
        status, body, _ = await post(ctx, {**CHAT, "tools": [tool]})
        assert status == 200, body


async def test_unknown_model_is_404_with_hint(tmp_path):
    async with gateway_context(tmp_path) as ctx:
        status, body, _ = await post(ctx, {**CHAT, "model": "gpt-9000"})
        assert status == 404
        err = assert_openai_error(body, "model_not_found")
        assert "GET /v1/models" in err["message"] and err["param"] == "model"
        row = ctx.rows()[-1]
        assert (row.status, row.requested_model) == ("rejected", "gpt-9000")


async def test_unknown_path_and_method(tmp_path):
    async with gateway_context(tmp_path) as ctx:
        async with aiohttp.ClientSession() as s:
            async with s.get(f"{ctx.base_url}/v1/secret-admin-thing", headers=ctx.headers()) as resp:
                assert resp.status == 404
                text = await resp.text()
                assert "secret-admin-thing" not in text
                assert_openai_error(orjson.loads(text), "not_found")
            async with s.get(f"{ctx.base_url}/v1/nothing") as resp:
                assert resp.status == 401, "unauthenticated callers learn nothing about paths"
            async with s.get(f"{ctx.base_url}/v1/chat/completions", headers=ctx.headers()) as resp:
                assert resp.status == 405
                assert_openai_error(await resp.json(), "method_not_allowed")
            async with s.get(f"{ctx.base_url}/health") as resp:
                assert resp.status == 200 and await resp.json() == {"status": "ok"}


async def test_health_is_unauthenticated_but_host_checked(tmp_path):
    async with gateway_context(tmp_path) as ctx:
        async with aiohttp.ClientSession() as s:
            async with s.get(f"{ctx.base_url}/health", headers={"Host": "evil.example"}) as resp:
                assert resp.status == 403
            async with s.get(f"{ctx.base_url}/health", headers={"Origin": "https://evil.example"}) as resp:
                assert resp.status == 403
            async with s.get(f"{ctx.base_url}/health") as resp:
                assert resp.status == 200 and await resp.json() == {"status": "ok"}
                assert resp.headers["Server"] == "Switchboard"


async def test_the_app_a_request_names_itself_goes_to_the_log(tmp_path):
    """OpenRouter's attribution headers: X-Title, else the host of HTTP-Referer (issue 17, item 4)."""
    cfg = {
        "providers": [{"id": "demo", "preset": "demo"}],
        "routes": [{"name": "demo", "targets": [{"provider": "demo", "model": "echo"}]}],
    }
    async with gateway_context(tmp_path, cfg) as ctx:
        body = {"model": "demo", "messages": [{"role": "user", "content": "hi"}]}
        named = [
            {"X-Title": "  My   Script "},
            {"HTTP-Referer": "https://tools.example.com/page?q=1"},
            {"X-Title": "Aider", "HTTP-Referer": "https://aider.chat"},
            {},
        ]
        async with aiohttp.ClientSession() as http:
            for extra in named:
                headers = {"Authorization": f"Bearer {ACCESS_KEY}", **extra}
                async with http.post(f"{ctx.base_url}/v1/chat/completions", json=body, headers=headers) as resp:
                    assert resp.status == 200
        apps = [row.app for row in ctx.rows()]
        assert apps == ["My Script", "tools.example.com", "Aider", None]

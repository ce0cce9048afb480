"""A bare aiohttp relay: the floor for an OpenAI-compatible proxy in Python (a benchmark target).

    python -m tests.bench.relay --port 0 --upstream http://127.0.0.1:PORT/v1

One ``aiohttp.web`` app: ``POST /v1/chat/completions`` goes to ``{upstream}/chat/completions``
through one shared ``ClientSession``, its body as bytes (never parsed) with the client's
``Content-Type`` and ``Authorization``. The answer comes back with the upstream's status and
``Content-Type``: an SSE stream chunk by chunk as the chunks arrive, anything else whole. No auth
of its own, no log, no routing, no retries; uvloop when it is installed. It prints
``relay listening on http://HOST:PORT (LOOP)`` once it accepts connections, and stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

FORWARDED = ("Content-Type", "Authorization")
SESSION = web.AppKey("session", aiohttp.ClientSession)


def make_app(upstream: str) -> web.Application:
    url = upstream.rstrip("/") + "/chat/completions"

    async def session(app: web.Application) -> AsyncIterator[None]:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=timeout) as s:
            app[SESSION] = s
            yield

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = {name: request.headers[name] for name in FORWARDED if name in request.headers}
        try:
            async with request.app[SESSION].post(url, data=body, headers=headers) as answer:
                content_type = answer.headers.get("Content-Type", "application/json")
                if not content_type.startswith("text/event-stream"):
                    data = await answer.read()
                    return web.Response(status=answer.status, body=data, headers={"Content-Type": content_type})
                out = web.StreamResponse(status=answer.status, headers={"Content-Type": content_type})
                await out.prepare(request)
                async for chunk in answer.content.iter_any():
                    await out.write(chunk)
                await out.write_eof()
                return out
        except (aiohttp.ClientError, TimeoutError) as exc:
            return web.Response(status=502, text=f"relay: upstream failed: {exc!r}")

    app = web.Application()
    app.cleanup_ctx.append(session)
    app.router.add_post("/v1/chat/completions", chat)
    return app


async def serve(host: str, port: int, upstream: str) -> None:
    runner = web.AppRunner(make_app(upstream), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        bound = runner.addresses[0][1]
        print(f"relay listening on http://{host}:{bound} ({type(loop).__module__.split('.')[0]})", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.relay", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--upstream", required=True, help="the upstream's base URL, e.g. http://127.0.0.1:8000/v1")
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.host, args.port, args.upstream))
    else:
        uvloop.run(serve(args.host, args.port, args.upstream))


if __name__ == "__main__":
    main()

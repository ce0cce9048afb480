"""The OpenAI fake over HTTPS with a throwaway test CA, as its own process (for ``.ci/run``'s
``--selftest --upstream`` of the frozen app, and for tests).

``python -m tests.fakes.https_upstream --ca-out DIR/ca.pem`` writes the CA certificate (the only
thing a client must trust), prints ``fake upstream listening on https://127.0.0.1:PORT/v1`` and
serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import ssl
import sys

import trustme

from tests.fakes.openai_upstream import FakeOpenAIUpstream


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*(names or ("127.0.0.1", "localhost"))).configure_cert(context)
    return context


async def _serve(ca_out: str) -> None:
    ca = trustme.CA(organization_name="Switchboard Test CA")
    ca.cert_pem.write_to_path(ca_out)
    fake = FakeOpenAIUpstream(api_key=None, ssl_context=server_context(ca), record=False)
    url = await fake.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"fake upstream listening on {url}", flush=True)
    try:
        await stop.wait()
    finally:
        await fake.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.https_upstream", description=__doc__.splitlines()[0])
    parser.add_argument("--ca-out", required=True, help="write the test CA's certificate (PEM) here")
    asyncio.run(_serve(parser.parse_args(argv).ca_out))


if __name__ == "__main__":
    main(sys.argv[1:])

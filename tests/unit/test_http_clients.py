"""The aiohttp-backed client keeps httpx's contract the adapters rely on: answers, timeouts and refused
connections arrive as httpx's own types (adapters/retry.py classifies them)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from gamevault import http_clients
from gamevault.broker.ports import free_port


async def _server(handler):
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


def test_a_request_and_its_answer():
    async def main() -> None:
        async def answer(reader, writer):
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
            body = await reader.readexactly(length)
            writer.write(b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(body), body))
            await writer.drain()
            writer.close()

        server, url = await _server(answer)
        async with http_clients.async_client(timeout=5.0) as client:
            r = await client.post(url + "/v1/x", json={"a": 1}, headers={"Idempotency-Key": "k"})
        server.close()
        assert r.status_code == 201 and r.json() == {"a": 1}

    asyncio.run(main())


def test_a_refused_connection_is_an_httpx_transport_error():
    async def main() -> None:
        async with http_clients.async_client(timeout=2.0) as client:
            with pytest.raises(httpx.TransportError):
                await client.get(f"http://127.0.0.1:{free_port()}/")

    asyncio.run(main())


def test_a_silent_server_is_an_httpx_timeout():
    async def main() -> None:
        async def silent(reader, writer):
            await asyncio.sleep(5)

        server, url = await _server(silent)
        async with http_clients.async_client(timeout=httpx.Timeout(0.3, connect=1.0)) as client:
            with pytest.raises(httpx.TimeoutException):
                await client.get(url)
        server.close()

    asyncio.run(main())

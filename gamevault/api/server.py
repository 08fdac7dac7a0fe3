"""uvicorn, served on the Faust worker's own event loop as a mode service.

FastAPI and Faust on two loops fail with "attached to a different loop"; here `Server.serve()` runs
as a future of a service added to the Faust app, so endpoints can await Faust producers and tables
directly. The listening socket is bound with SO_REUSEPORT, so N workers share one port and the
kernel spreads connections over them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import mode
import uvicorn


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # the Faust worker owns SIGINT/SIGTERM and stops us in order
        yield


def bind_reuseport(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class ApiServer(mode.Service):
    def __init__(self, asgi_app: Any, host: str, port: int, trusted_proxies: tuple[str, ...] = (),
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.asgi_app = asgi_app
        self.trusted_proxies = trusted_proxies
        self.host = host
        self.port = port
        self.server: _Server | None = None
        self._sock: socket.socket | None = None
        self._serving: asyncio.Future | None = None

    async def on_start(self) -> None:
        self._sock = bind_reuseport(self.host, self.port)
        config = uvicorn.Config(
            self.asgi_app, lifespan="off", log_level="warning", access_log=False, http="httptools",
            server_header=False, date_header=False, timeout_keep_alive=30, backlog=2048,
            # X-Forwarded-For is believed only from the proxies GAMEVAULT_TRUSTED_PROXIES names (uvicorn's
            # default trusts 127.0.0.1: every local client could pick its own IP and dodge the rate limits)
            proxy_headers=bool(self.trusted_proxies), forwarded_allow_ips=list(self.trusted_proxies) or [],
        )
        self.server = _Server(config)
        self._serving = self.add_future(self.server.serve(sockets=[self._sock]))

    async def drain(self, timeout_s: float = 20.0) -> None:
        """Stop accepting connections and let the requests in flight finish.

        Called before the Faust app stops its producer and consumers: a request that arrives while
        the worker stops then lands on another worker (SO_REUSEPORT) instead of meeting a stopped
        producer here. The timeout is above a command's reply timeout (15 s)."""
        if self.server is None or self._serving is None or self._serving.done():
            return
        self.server.should_exit = True
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._serving), timeout_s)

    async def on_stop(self) -> None:
        await self.drain()
        if self._sock is not None:
            self._sock.close()

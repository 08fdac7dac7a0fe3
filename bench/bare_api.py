"""The baseline: a bare FastAPI JSON endpoint served exactly like a worker serves the gateway
(uvicorn, httptools, uvloop, one process). `python -m bench.bare_api PORT`."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

app = FastAPI()
DOC = {
    "id": "00000000-0000-0000-0000-000000000000", "seller_id": "s", "title": "A bare endpoint",
    "description": "the same size as a product document, roughly", "platform": "pc", "genres": ["action"],
    "price": {"amount": "59.90", "currency": "PEN"}, "stock": 10,
    "rating": {"average": 4.5, "count": 2, "histogram": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}},
    "created_at": "2026-11-28T00:00:00Z", "updated_at": "2026-11-28T00:00:00Z", "version": 1,
}


@app.get("/bare/{item_id}")
async def bare(item_id: str) -> dict:
    return DOC


@contextmanager
def serve() -> Iterator[str]:
    """The bare endpoint in a process of its own, on a free port; yields the URL of one document."""
    from gamevault.broker.local import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bench.bare_api", str(port)],
                            cwd=Path(__file__).resolve().parents[1], stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/bare/x"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the bare endpoint did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False,
                http="httptools", loop="uvloop", server_header=False, date_header=False)

"""The baseline: a bare FastAPI JSON endpoint served exactly like a worker serves the gateway
(uvicorn, httptools, uvloop, one process). `python -m bench.bare_api PORT`."""

from __future__ import annotations

import sys

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


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False,
                http="httptools", loop="uvloop", server_header=False, date_header=False)

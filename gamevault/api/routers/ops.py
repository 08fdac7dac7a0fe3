"""Operations: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from gamevault.api.deps import Services

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is alive")
async def healthz(services: Services) -> dict:
    return {"status": "ok", "worker": services.worker_id}


@router.get("/readyz", summary="Kafka reachable, tables recovered, read models caught up",
            responses={503: {"description": "not ready yet"}})
async def readyz(services: Services) -> Response:
    state = services.readiness()
    return Response(orjson.dumps(state), status_code=200 if state["ready"] else 503,
                    media_type="application/json")


@router.get("/metrics", summary="Prometheus metrics of this worker", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

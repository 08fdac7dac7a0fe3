"""What the gateway's routes are given: the agents' services plus the API's own, built whole by the
composition root (worker.py) before the API is created."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from gamevault.agents.services import AgentServices
from gamevault.api.documents import ProductDocuments
from gamevault.api.security import TokenService
from gamevault.broker.partners import Partners


@dataclass
class ApiServices(AgentServices):
    tokens: TokenService = field(kw_only=True)
    partners: Partners = field(kw_only=True)  # sellers' integrations (POST /seller/integrations)
    documents: ProductDocuments = field(kw_only=True)  # cached product documents (the hottest read)
    started_at: float = field(default_factory=time.time, kw_only=True)

    def readiness(self) -> dict[str, Any]:
        broker_ok = time.monotonic() - self.replicas.last_contact < 15.0
        recovery = self.app.tables.recovery
        checks = {  # "tables_recovered" holds trivially on a worker without tables
            "kafka": broker_ok,
            "tables_recovered": bool(recovery.completed.is_set()) and not self.app.in_recovery,
            "read_models": self.replicas.ready.is_set(),
            "replies": self.bus.ready.is_set(),
        }
        sizes = {r.spec.name.split(".")[2]: len(r) for r in self.views.all()}
        return {"ready": all(checks.values()), "checks": checks, "worker": self.worker_id, "read_models": sizes}

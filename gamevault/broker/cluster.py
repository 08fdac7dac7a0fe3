"""A KRaft cluster of N local brokers on loopback: combined broker+controller nodes, one quorum.

For fault tests and benchmarks of replication (RF 3, min.insync.replicas 2): each node is a
`LocalKafka` under `<home>/node-<id>`, formatted with the cluster's one id and the full voter list,
locked like a single broker and sharing one set of principals and one CA (`<home>/secrets`,
`<home>/tls`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gamevault.broker.acls import grant_platform
from gamevault.broker.local import LocalKafka, new_cluster_id
from gamevault.broker.ports import free_port
from gamevault.broker.security import LocalSecurity
from gamevault.kafka_access import OPERATOR, PLATFORM, KafkaAccess

REPLICATED = {
    "default.replication.factor": "3",
    "min.insync.replicas": "2",
    "offsets.topic.replication.factor": "3",
    "transaction.state.log.replication.factor": "3",
    "transaction.state.log.min.isr": "2",
    "share.coordinator.state.topic.replication.factor": "3",
    "share.coordinator.state.topic.min.isr": "2",
}


class LocalCluster:
    """`start()` launches every node first (a quorum needs a majority), then waits for each."""

    def __init__(self, home: Path, nodes: int = 3, *, libs_dir: Path | None = None, heap: str = "384m") -> None:
        ports = [free_port(span=4) for _ in range(nodes)]
        voters = ",".join(f"{n + 1}@127.0.0.1:{port + 1}" for n, port in enumerate(ports))
        cluster_id = new_cluster_id()
        config = dict(REPLICATED) if nodes >= 3 else {}
        self.security = LocalSecurity(Path(home) / "secrets", Path(home) / "tls")
        self.nodes = [
            LocalKafka(Path(home) / f"node-{n + 1}", port, libs_dir=libs_dir, heap=heap, node_id=n + 1,
                       voters=voters, cluster_id=cluster_id, extra_config=config, security=self.security)
            for n, port in enumerate(ports)
        ]

    @property
    def bootstrap(self) -> str:
        return ",".join(node.bootstrap for node in self.nodes)

    @property
    def port(self) -> int:
        return self.nodes[0].port

    def access(self, principal: str = OPERATOR) -> KafkaAccess:
        return self.security.access(principal, self.bootstrap)

    def client_env(self) -> dict[str, str]:
        """The environment that points GameVault's processes at this cluster as its platform principal."""
        platform = self.access(PLATFORM)
        return {"GAMEVAULT_KAFKA_BOOTSTRAP": self.bootstrap,
                "GAMEVAULT_KAFKA_SECURITY_PROTOCOL": platform.security_protocol,
                "GAMEVAULT_KAFKA_SASL_MECHANISM": platform.mechanism or "",
                "GAMEVAULT_KAFKA_USERNAME": platform.username or "",
                "GAMEVAULT_KAFKA_PASSWORD": platform.password or ""}

    def start(self, timeout: float = 120.0, echo=print) -> None:
        launched = [(node, node.launch(echo=echo)) for node in self.nodes if not node.status().running]
        for node, proc in launched:
            node.wait_ready(proc, timeout)
        grant_platform(self.access())

    def stop(self, timeout: float = 20.0) -> None:
        """Stop every node at once. One by one, the last node standing waits for a quorum that is gone
        (its controlled shutdown needs an active controller) until its timeout: a minute per stop."""
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(lambda node: node.stop(timeout, echo=lambda m: None), self.nodes))

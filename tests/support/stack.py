"""Real processes for integration tests: a broker, workers, simulators; no mocks of Kafka."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from gamevault.broker.admin import ensure_topics
from gamevault.broker.local import LocalKafka, free_port
from gamevault.broker.security import LocalSecurity
from gamevault.kafka_access import PLATFORM

REPO = Path(__file__).resolve().parents[2]
JAR_HOME = Path(os.environ.get("GAMEVAULT_TEST_JAR_HOME", REPO / ".gamevault"))
ADMIN = ("admin@gamevault.test", "admin-password-123")


def jar_cache() -> Path:
    """The broker's jars, resolved once per checkout (Maven) and shared by every test broker."""
    return LocalKafka(JAR_HOME).install(echo=lambda m: print(m, file=sys.stderr))


def start_broker(home: Path, port: int | None = None, reauth_ms: int | None = None, **config: str) -> LocalKafka:
    """A locked broker (SCRAM, ACLs) whose principals' passwords live under `home`, as `gamevault kafka start`."""
    security = LocalSecurity.of_home(home, **({"reauth_ms": reauth_ms} if reauth_ms else {}))
    broker = LocalKafka(home, port or free_port(span=4), libs_dir=jar_cache(), heap="512m", extra_config=config,
                        security=security)
    broker.start(echo=lambda m: None)
    ensure_topics(broker.access(PLATFORM))
    return broker


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen | None = None

    def start(self) -> Process:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Stack:
    """A broker's home, and the workers (sharing one API port) running against it."""

    home: Path
    broker: LocalKafka
    api_port: int = field(default_factory=free_port)
    sim_port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    workers: list[Process] = field(default_factory=list)
    extra: list[Process] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "GAMEVAULT_HOME": str(self.home), "GAMEVAULT_KAFKA_PORT": str(self.broker.port),
            "GAMEVAULT_ADMIN_EMAIL": ADMIN[0], "GAMEVAULT_ADMIN_PASSWORD": ADMIN[1],
            "GAMEVAULT_RATE_LIMIT_PER_MINUTE": "100000", "PYTHONUNBUFFERED": "1",
            "GAMEVAULT_SIMULATOR_PORT": str(self.sim_port), "GAMEVAULT_API_URL": self.url,
            # short saga deadlines so timeout paths are testable in seconds
            "GAMEVAULT_PAYMENT_CONFIRM_TIMEOUT": "3", "GAMEVAULT_SAGA_STEP_TIMEOUT": "6",
            "GAMEVAULT_DELIVERY_TIMEOUT": "20",
        })
        env.pop("GAMEVAULT_KAFKA_BOOTSTRAP", None)
        env.update(self.env)
        return env

    def start_worker(self, wait: bool = True, port: int | None = None, **env: str) -> Process:
        n = len(self.workers) + 1
        proc = Process(f"worker-{n}", [sys.executable, "-m", "gamevault", "worker", "--api-port",
                                       str(port or self.api_port), "--loglevel", "info"],
                       {**self.base_env(), **env}, self.home / "logs" / f"worker-{n}.log").start()
        self.workers.append(proc)
        if wait:
            self.wait_ready(proc, port=port)
        return proc

    def start_process(self, name: str, *args: str, **env: str) -> Process:
        proc = Process(name, [sys.executable, "-m", "gamevault", *args], {**self.base_env(), **env},
                       self.home / "logs" / f"{name}.log").start()
        self.extra.append(proc)
        return proc

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    def start_simulators(self) -> Process:
        proc = self.start_process("simulators", "simulators")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.sim_url + "/healthz", timeout=1).status_code == 200:
                    return proc
            except httpx.HTTPError:
                pass
            if not proc.alive():
                raise RuntimeError(f"simulators died:\n{proc.tail()}")
            time.sleep(0.1)
        raise RuntimeError("simulators not up")

    def chaos(self, **switches: object) -> dict:
        return httpx.post(self.sim_url + "/_sim/config", json=switches, timeout=5).json()

    def ledger(self) -> dict:
        return httpx.get(self.sim_url + "/_sim/ledger", timeout=5).json()["orders"]

    def unacknowledged(self, timeout: float = 30.0) -> dict[str, int]:
        """Command records the workers' group has not committed past, by partition, once it is idle: empty
        when every record was acknowledged (waits up to `timeout` for the last commits)."""
        from kafka import KafkaConsumer, TopicPartition

        from gamevault.broker.admin import admin_client
        from gamevault.streams.topics import CATALOGUE, Kind

        access = self.broker.access()
        admin = admin_client(access)
        consumer = KafkaConsumer(**access.kafka_python(), group_id=None, enable_auto_commit=False)
        try:
            tps = [TopicPartition(t.name, p) for t in CATALOGUE if t.kind is Kind.COMMANDS
                   for p in range(t.partitions)]
            ends = consumer.end_offsets(tps)
            deadline = time.monotonic() + timeout
            while True:
                committed = admin.list_group_offsets("gamevault")["gamevault"]
                behind = {f"{tp.topic}-{tp.partition}": end - (committed[tp].offset if tp in committed else 0)
                          for tp, end in ends.items() if end and (tp not in committed or committed[tp].offset < end)}
                if not behind or time.monotonic() > deadline:
                    return behind
                time.sleep(0.5)
        finally:
            consumer.close()
            admin.close()

    def wait_ready(self, proc: Process | None = None, timeout: float = 90.0, port: int | None = None) -> None:
        """Until the worker answers /readyz 200 (on a shared port: until *a* worker does)."""
        url = f"http://127.0.0.1:{port or self.api_port}/readyz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc is not None and not proc.alive():
                raise RuntimeError(f"{proc.name} died:\n{proc.tail()}")
            try:
                if httpx.get(url, timeout=1.0, headers={"Connection": "close"}).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"not ready after {timeout}s:\n{proc.tail() if proc else ''}")

    def stop(self) -> None:
        for proc in [*self.workers, *self.extra]:
            proc.stop()

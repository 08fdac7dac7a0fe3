"""The local single-node Apache Kafka broker (KRaft, combined broker+controller), locked by default.

Everything it needs lives under `<home>`: the jars (jars.py), config, data, logs and pid under
`<home>/kafka`, its TLS material under `<home>/kafka/tls` and its principals' passwords under
`<home>/secrets` (security.py), so `rm -rf <home>` is a full reset. Clients authenticate (SCRAM) and
the StandardAuthorizer refuses whatever no ACL allows; the platform's ACLs are granted at every start.
"""

from __future__ import annotations

import base64
import json
import os
import shlex
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from gamevault.broker import jars
from gamevault.broker.acls import grant_platform
from gamevault.broker.admin import metadata_ok
from gamevault.broker.ports import BrokerError, free_port, pid_alive, port_open, reap
from gamevault.broker.security import LocalSecurity
from gamevault.kafka_access import OPERATOR, PLATFORM, KafkaAccess, LocalPorts
from gamevault.secret_files import private_dir, write_private

__all__ = ["BrokerError", "BrokerStatus", "LocalKafka", "free_port", "port_open"]

_LOG4J2 = """Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Logger:
      - name: kafka
        level: INFO
      - name: org.apache.kafka
        level: WARN
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
"""

MISSING_JAVA = (
    "Java was not found. The local Kafka broker is a JVM program and needs a JDK or JRE 17 or newer "
    "on PATH (Debian/Ubuntu: `apt install openjdk-17-jre-headless`; macOS: `brew install openjdk@17`). "
    "Alternatively point GameVault at an existing cluster with GAMEVAULT_KAFKA_BOOTSTRAP=host:port."
)
@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    port: int
    version: str | None
    data_dir: Path

    def describe(self) -> str:
        state = "running" if self.running else "stopped"
        return (
            f"kafka: {state}\n  pid:      {self.pid if self.running else '-'}\n"
            f"  port:     {self.port}\n  version:  {self.version or '-'}\n  data dir: {self.data_dir}"
        )


def new_cluster_id() -> str:
    while True:  # Kafka's own Uuid.randomUuid() also refuses ids that start with '-'
        value = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not value.startswith("-"):
            return value


class LocalKafka:
    """One broker under `<home>/kafka`: `install()`, `start()`, `stop()`, `status()`, `access()`."""

    def __init__(
        self,
        home: Path,
        port: int = 9092,
        *,
        libs_dir: Path | None = None,
        heap: str | None = None,
        node_id: int = 1,
        extra_config: dict[str, str] | None = None,
        voters: str | None = None,
        cluster_id: str | None = None,
        security: LocalSecurity | None = None,
        plaintext_port: int | None = None,
    ) -> None:
        self.dir = Path(home) / "kafka"
        self.ports = LocalPorts.from_base(port)
        self.port = port
        self.controller_port = self.ports.controller
        self.voters = voters or f"{node_id}@127.0.0.1:{self.controller_port}"  # a cluster passes all nodes
        self.cluster_id = cluster_id
        kafka_home = os.environ.get("KAFKA_HOME")
        self.libs = libs_dir or (Path(kafka_home) / "libs" if kafka_home else self.dir / "libs")
        self.heap = heap or os.environ.get("GAMEVAULT_KAFKA_HEAP", "1g")
        # more JVM options, after GameVault's (e.g. -XX:TieredStopAtLevel=1, measured in README "Benchmarks")
        self.jvm_options = shlex.split(os.environ.get("GAMEVAULT_KAFKA_JVM_OPTS", ""))
        self.node_id = node_id
        self.extra_config = extra_config or {}
        self.security = security or LocalSecurity.of_home(Path(home))
        self.plaintext_port = plaintext_port  # benchmarks only: see LocalSecurity.server_properties

    # ---- paths ------------------------------------------------------------------------------
    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def state_file(self) -> Path:
        return self.dir / "state.json"

    @property
    def log_file(self) -> Path:
        return self.dir / "logs" / "server.log"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def access(self, principal: str = OPERATOR, protocol: str = "SASL_PLAINTEXT") -> KafkaAccess:
        """How `principal` connects to this broker over `protocol` (SASL_PLAINTEXT, SASL_SSL or SSL)."""
        return self.security.access(principal, f"127.0.0.1:{self.ports.for_protocol(protocol)}", protocol)

    def client_env(self, principal: str = PLATFORM) -> dict[str, str]:
        """The environment that points GameVault's processes of another home at this broker as `principal`."""
        return {"GAMEVAULT_KAFKA_PORT": str(self.port), "GAMEVAULT_KAFKA_USERNAME": principal,
                "GAMEVAULT_KAFKA_PASSWORD": self.security.password(principal)}

    # ---- jars -------------------------------------------------------------------------------
    def version(self) -> str | None:
        return jars.jar_version(self.libs)

    def installed(self) -> bool:
        return jars.installed(self.libs)

    def install(self, echo=print) -> Path:
        """Resolve the broker's jars once with Maven (idempotent; a KAFKA_HOME install is used as is)."""
        return jars.resolve(self.libs, self.dir / "maven", echo=echo)

    # ---- config -----------------------------------------------------------------------------
    def _java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
        if not java or not Path(java).exists():
            raise BrokerError(MISSING_JAVA)
        return java

    def _write_config(self) -> Path:
        config = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.voters": self.voters,
            **self.security.server_properties(self.ports, self.plaintext_port),
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            # topics come from the catalogue (`gamevault topics create`); a typo must fail loudly,
            # not silently create a one-partition topic that breaks co-partitioned tables
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "16",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "8",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # first assignment of a new group in ~0 s instead of 3 s (NOTES.md: measured)
            "group.initial.rebalance.delay.ms": "0",
            "log.segment.bytes": str(128 * 1024 * 1024),
            "log.cleaner.dedupe.buffer.size": str(32 * 1024 * 1024),
        }
        config.update(self.extra_config)
        path = self.dir / "server.properties"
        write_private(path, "".join(f"{k}={v}\n" for k, v in config.items()))  # it holds the nodes' password
        (self.dir / "log4j2.yaml").write_text(_LOG4J2)
        return path

    def _classpath(self) -> str:
        return str(self.libs / "*")

    @property
    def _locked_marker(self) -> Path:
        return self.dir / "locked"

    def _format(self, java: str, config: Path) -> None:
        if (self.data_dir / "meta.properties").exists():
            if not self._locked_marker.exists():
                raise BrokerError(
                    f"{self.data_dir} was formatted before GameVault locked its broker: its nodes have no "
                    f"SCRAM users, so a locked broker cannot start on it. Remove {self.data_dir} (topics are "
                    "recreated by `gamevault topics create`; state is rebuilt from them) and start again.")
            return
        private_dir(self.data_dir)
        cmd = [java, "-cp", self._classpath(), "kafka.tools.StorageTool", "format",
               "-t", self.cluster_id or new_cluster_id(), "-c", str(config), "--ignore-formatted",
               *self.security.format_args()]
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:  # its stdout lists the SCRAM records: show only the error
            raise BrokerError("Formatting the KRaft storage failed:\n" + proc.stderr[-3000:])
        self._locked_marker.write_text("scram\n")

    # ---- lifecycle --------------------------------------------------------------------------
    def _read_state(self) -> dict | None:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None

    def status(self) -> BrokerStatus:
        state = self._read_state()
        if state and pid_alive(state["pid"]) and port_open(state["port"]):
            return BrokerStatus(True, state["pid"], state["port"], state.get("version"), self.data_dir)
        return BrokerStatus(False, None, self.port, self.version(), self.data_dir)

    def start(self, timeout: float = 90.0, echo=print, foreground_child: bool = False) -> BrokerStatus:
        """Start the broker (if not already running) and return once it answers metadata requests."""
        current = self.status()
        if current.running:
            echo(f"Kafka {current.version} already running at 127.0.0.1:{current.port} (pid {current.pid})")
            return current
        proc = self.launch(echo=echo, foreground_child=foreground_child)
        self._wait_ready(proc, timeout)
        grant_platform(self.access())
        version = self.version()
        echo(f"Kafka {version} (KRaft) ready at {self.bootstrap}  pid {proc.pid}  data {self.data_dir}")
        return BrokerStatus(True, proc.pid, self.port, version, self.data_dir)

    def launch(self, echo=print, foreground_child: bool = False) -> subprocess.Popen:
        """Start the JVM without waiting (a cluster's nodes must all be up before any is ready)."""
        java = self._java()
        self.install(echo=echo)
        taken = [p for p in (self.ports.client, self.ports.controller, self.ports.tls, self.ports.mtls)
                 if port_open(p)]
        if taken:
            raise BrokerError(
                f"Port(s) {', '.join(map(str, taken))} are taken by another program (the broker uses "
                f"{self.port}-{self.ports.mtls}); choose another base port with --kafka-port."
            )
        private_dir(self.dir)
        config = self._write_config()
        self._format(java, config)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            java, f"-Xms{self.heap}", f"-Xmx{self.heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            *self.jvm_options, "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={self.dir / 'log4j2.yaml'}",
            "-cp", self._classpath(), "kafka.Kafka", str(config),
        ]
        with open(self.log_file, "ab") as log:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=not foreground_child, cwd=self.dir,
            )
        self.state_file.write_text(json.dumps({"pid": proc.pid, "port": self.port, "version": self.version()}))
        return proc

    def wait_ready(self, proc: subprocess.Popen, timeout: float = 90.0) -> None:
        self._wait_ready(proc, timeout)

    def _wait_ready(self, proc: subprocess.Popen, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise BrokerError(f"Kafka exited with status {proc.returncode}:\n{self._log_tail()}")
            if port_open(self.port) and metadata_ok(self.access()):
                return
            time.sleep(0.25)
        self.stop()
        raise BrokerError(f"Kafka did not answer within {timeout:.0f}s:\n{self._log_tail()}")

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 60.0, echo=print) -> bool:
        """SIGTERM (a controlled shutdown), wait; SIGKILL only if it does not go in time."""
        state = self._read_state()
        if not state or not pid_alive(state["pid"]):
            self.state_file.unlink(missing_ok=True)
            return False
        pid = state["pid"]
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
            reap(pid)
        if pid_alive(pid):
            echo(f"Kafka (pid {pid}) did not stop in {timeout:.0f}s; killing it")
            os.kill(pid, signal.SIGKILL)
            while pid_alive(pid):
                time.sleep(0.05)
                reap(pid)
        while port_open(state["port"]):
            time.sleep(0.05)
        self.state_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL, for fault-injection tests."""
        state = self._read_state()
        if state and pid_alive(state["pid"]):
            os.kill(state["pid"], signal.SIGKILL)
            while pid_alive(state["pid"]):
                time.sleep(0.05)
                reap(state["pid"])

"""The local single-node Apache Kafka broker (KRaft, combined broker+controller).

Kafka is a JVM program; GameVault does not ship it. The jars come from `$KAFKA_HOME/libs` when a
user has their own install, or else Maven resolves `org.apache.kafka:kafka_2.13` and its runtime
dependencies from Maven Central once into `<home>/kafka/libs`. Everything else (config, data, logs,
pid) lives under `<home>/kafka` too, so `rm -rf <home>` is a full reset.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

# Newest Kafka 4.x on Maven Central that aiokafka 0.14 (faust) and kafka-python 3.0 were both
# verified against: produce (idempotent, transactional), group consume, admin (README: "Kafka version").
KAFKA_VERSION = "4.4.0"
LOG4J_VERSION = "2.25.3"
SLF4J_VERSION = "2.0.17"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.gamevault</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{kafka}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId>
      <version>{slf4j}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId>
      <version>{log4j}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId>
      <version>{log4j}</version></dependency>
  </dependencies>
</project>
"""

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
MISSING_MAVEN = (
    "Maven was not found. GameVault resolves the Kafka broker's jars (org.apache.kafka:kafka_2.13 and "
    "its runtime dependencies) from Maven Central with `mvn` the first time it starts a broker "
    "(Debian/Ubuntu: `apt install maven`; macOS: `brew install maven`). Alternatively set KAFKA_HOME to "
    "an unpacked Apache Kafka 4.x distribution, or GAMEVAULT_KAFKA_BOOTSTRAP to an existing cluster."
)


class BrokerError(RuntimeError):
    """A broker could not be installed, started or stopped; the message says what to do."""


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


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.3) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


_handed_out: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _can_bind(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port(span: int = 1) -> int:
    """A free port (with the `span - 1` ports after it free too), below the kernel's ephemeral range.

    Why not `bind(0)`: that hands out an ephemeral port, and between closing the probe and the
    server's own bind any outgoing connection on the machine may take it (CI saw a broker fail with
    "Address already in use" that way). Outgoing connections never get a port below the ephemeral
    range, and this process never hands out the same port twice.
    """
    low, high = 10_000, _ephemeral_low()
    if high - low < 1_000:  # an unusual kernel setting: fall back to the kernel's choice
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    for _ in range(1_000):
        base = random.randrange(low, high - span)
        ports = range(base, base + span)
        if not _handed_out.intersection(ports) and all(_can_bind(p) for p in ports):
            _handed_out.update(ports)
            return base
    raise BrokerError(f"No {span} free consecutive port(s) between {low} and {high}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def _cluster_id() -> str:
    while True:  # Kafka's own Uuid.randomUuid() also refuses ids that start with '-'
        value = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not value.startswith("-"):
            return value


class LocalKafka:
    """One broker under `<home>/kafka`: `install()`, `start()`, `stop()`, `status()`."""

    def __init__(
        self,
        home: Path,
        port: int = 9092,
        *,
        libs_dir: Path | None = None,
        heap: str | None = None,
        node_id: int = 1,
        extra_config: dict[str, str] | None = None,
        controller_port: int | None = None,
        voters: str | None = None,
        cluster_id: str | None = None,
    ) -> None:
        self.dir = Path(home) / "kafka"
        self.port = port
        self.controller_port = controller_port or port + 1
        self.voters = voters or f"{node_id}@127.0.0.1:{self.controller_port}"  # a cluster passes all nodes
        self.cluster_id = cluster_id
        kafka_home = os.environ.get("KAFKA_HOME")
        self.libs = libs_dir or (Path(kafka_home) / "libs" if kafka_home else self.dir / "libs")
        self.heap = heap or os.environ.get("GAMEVAULT_KAFKA_HEAP", "1g")
        self.node_id = node_id
        self.extra_config = extra_config or {}

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

    # ---- jars -------------------------------------------------------------------------------
    def version(self) -> str | None:
        if not self.libs.is_dir():
            return None
        for jar in self.libs.glob("kafka-clients-*.jar"):
            name = jar.name.removeprefix("kafka-clients-").removesuffix(".jar")
            if name[:1].isdigit():
                return name
        return None

    def installed(self) -> bool:
        return self.libs.is_dir() and any(self.libs.glob("kafka_2.13-*.jar"))

    def install(self, echo=print) -> Path:
        """Resolve the broker's jars once with Maven (idempotent; a KAFKA_HOME install is used as is)."""
        if self.installed():
            return self.libs
        if os.environ.get("KAFKA_HOME"):
            raise BrokerError(f"KAFKA_HOME is set but {self.libs} holds no kafka_2.13 jar.")
        if not shutil.which("mvn"):
            raise BrokerError(MISSING_MAVEN)
        work = self.dir / "maven"
        work.mkdir(parents=True, exist_ok=True)
        (work / "pom.xml").write_text(
            _POM.format(kafka=KAFKA_VERSION, slf4j=SLF4J_VERSION, log4j=LOG4J_VERSION)
        )
        staging = self.dir / f"libs.partial-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        echo(f"Resolving Apache Kafka {KAFKA_VERSION} jars from Maven Central (once) ...")
        cmd = [
            "mvn", "-B", "-q", "-f", str(work / "pom.xml"), "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}", "-DincludeScope=runtime",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            raise BrokerError(
                "Maven could not resolve the Kafka jars:\n" + (proc.stdout + proc.stderr)[-3000:]
            )
        try:
            staging.rename(self.libs)  # atomic: a concurrent installer's finished copy also wins
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
        return self.libs

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
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
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
        path.write_text("".join(f"{k}={v}\n" for k, v in config.items()))
        (self.dir / "log4j2.yaml").write_text(_LOG4J2)
        return path

    def _classpath(self) -> str:
        return str(self.libs / "*")

    def _format(self, java: str, config: Path) -> None:
        if (self.data_dir / "meta.properties").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [java, "-cp", self._classpath(), "kafka.tools.StorageTool", "format",
               "-t", self.cluster_id or _cluster_id(), "-c", str(config), "--ignore-formatted"]
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            raise BrokerError("Formatting the KRaft storage failed:\n" + (proc.stdout + proc.stderr)[-3000:])

    # ---- lifecycle --------------------------------------------------------------------------
    def _read_state(self) -> dict | None:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None

    def status(self) -> BrokerStatus:
        state = self._read_state()
        if state and _pid_alive(state["pid"]) and port_open(state["port"]):
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
        version = self.version()
        echo(f"Kafka {version} (KRaft) ready at {self.bootstrap}  pid {proc.pid}  data {self.data_dir}")
        return BrokerStatus(True, proc.pid, self.port, version, self.data_dir)

    def launch(self, echo=print, foreground_child: bool = False) -> subprocess.Popen:
        """Start the JVM without waiting (a cluster's nodes must all be up before any is ready)."""
        java = self._java()
        self.install(echo=echo)
        if port_open(self.port) or port_open(self.controller_port):
            raise BrokerError(
                f"Port {self.port} or {self.controller_port} is taken by another program; "
                "choose another with --kafka-port."
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        self._format(java, config)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            java, f"-Xms{self.heap}", f"-Xmx{self.heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={self.dir / 'log4j2.yaml'}",
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
            if port_open(self.port) and metadata_ok(self.bootstrap):
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
        if not state or not _pid_alive(state["pid"]):
            self.state_file.unlink(missing_ok=True)
            return False
        pid = state["pid"]
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
            _reap(pid)
        if _pid_alive(pid):
            echo(f"Kafka (pid {pid}) did not stop in {timeout:.0f}s; killing it")
            os.kill(pid, signal.SIGKILL)
            while _pid_alive(pid):
                time.sleep(0.05)
                _reap(pid)
        while port_open(state["port"]):
            time.sleep(0.05)
        self.state_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL, for fault-injection tests."""
        state = self._read_state()
        if state and _pid_alive(state["pid"]):
            os.kill(state["pid"], signal.SIGKILL)
            while _pid_alive(state["pid"]):
                time.sleep(0.05)
                _reap(state["pid"])


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def metadata_ok(bootstrap: str, timeout_s: float = 3.0) -> bool:
    """True when the broker answers a metadata request (not just an open port)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000),
            client_id="gamevault-probe",
        )
    except (KafkaError, OSError, ValueError):
        return False
    try:
        return bool(admin.describe_cluster().get("brokers"))
    except (KafkaError, OSError, ValueError):
        return False
    finally:
        admin.close()

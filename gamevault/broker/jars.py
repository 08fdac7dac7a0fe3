"""The broker's jars: `$KAFKA_HOME/libs` when a user has their own install, else resolved once by Maven.

Kafka is a JVM program; GameVault does not ship it. Maven resolves `org.apache.kafka:kafka_2.13` and its
runtime dependencies (plus a log4j2 backend) from Maven Central into `<home>/kafka/libs`, once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from gamevault.broker.ports import BrokerError

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

MISSING_MAVEN = (
    "Maven was not found. GameVault resolves the Kafka broker's jars (org.apache.kafka:kafka_2.13 and "
    "its runtime dependencies) from Maven Central with `mvn` the first time it starts a broker "
    "(Debian/Ubuntu: `apt install maven`; macOS: `brew install maven`). Alternatively set KAFKA_HOME to "
    "an unpacked Apache Kafka 4.x distribution, or GAMEVAULT_KAFKA_BOOTSTRAP to an existing cluster."
)


def jar_version(libs: Path) -> str | None:
    if not libs.is_dir():
        return None
    for jar in libs.glob("kafka-clients-*.jar"):
        name = jar.name.removeprefix("kafka-clients-").removesuffix(".jar")
        if name[:1].isdigit():
            return name
    return None


def installed(libs: Path) -> bool:
    return libs.is_dir() and any(libs.glob("kafka_2.13-*.jar"))


def resolve(libs: Path, work: Path, echo=print) -> Path:
    """Resolve the jars into `libs` with Maven (idempotent; a KAFKA_HOME install is used as is)."""
    if installed(libs):
        return libs
    if os.environ.get("KAFKA_HOME"):
        raise BrokerError(f"KAFKA_HOME is set but {libs} holds no kafka_2.13 jar.")
    if not shutil.which("mvn"):
        raise BrokerError(MISSING_MAVEN)
    work.mkdir(parents=True, exist_ok=True)
    (work / "pom.xml").write_text(_POM.format(kafka=KAFKA_VERSION, slf4j=SLF4J_VERSION, log4j=LOG4J_VERSION))
    staging = libs.parent / f"libs.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    echo(f"Resolving Apache Kafka {KAFKA_VERSION} jars from Maven Central (once) ...")
    cmd = [
        "mvn", "-B", "-q", "-f", str(work / "pom.xml"), "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}", "-DincludeScope=runtime",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise BrokerError("Maven could not resolve the Kafka jars:\n" + (proc.stdout + proc.stderr)[-3000:])
    try:
        staging.rename(libs)  # atomic: a concurrent installer's finished copy also wins
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
    return libs

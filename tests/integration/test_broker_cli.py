"""`gamevault kafka start|stop|status` against a real broker process."""

import os
import subprocess
import sys

from gamevault.broker.ports import free_port, pid_alive, port_open


def gamevault(*args, env):
    return subprocess.run([sys.executable, "-m", "gamevault", *args], env=env, capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL)


def test_start_status_stop_leaves_nothing_behind(tmp_path, kafka_jars):
    port = free_port(span=2)  # the controller listens on port + 1
    env = {**os.environ, "GAMEVAULT_HOME": str(tmp_path), "KAFKA_HOME": str(kafka_jars.parent)}
    env.pop("GAMEVAULT_KAFKA_BOOTSTRAP", None)

    stopped = gamevault("kafka", "status", "--kafka-port", str(port), env=env)
    assert stopped.returncode == 1 and "kafka: stopped" in stopped.stdout

    started = gamevault("kafka", "start", "--kafka-port", str(port), env=env)
    assert started.returncode == 0, started.stderr
    assert f"bootstrap: 127.0.0.1:{port}" in started.stdout
    assert "kafka version: 4." in started.stdout
    assert (tmp_path / "kafka" / "data" / "meta.properties").exists()

    running = gamevault("kafka", "status", env=env)  # finds the port from the running broker's state
    assert running.returncode == 0, running.stdout
    assert "kafka: running" in running.stdout and f"port:     {port}" in running.stdout
    pid = int(running.stdout.split("pid:")[1].split()[0])

    again = gamevault("kafka", "start", env=env)  # harmless
    assert again.returncode == 0 and "already running" in again.stderr

    topics = gamevault("topics", "create", env=env)
    assert topics.returncode == 0 and "created" in topics.stdout
    assert "0 created" in gamevault("topics", "create", env=env).stdout  # idempotent

    stop = gamevault("kafka", "stop", env=env)
    assert stop.returncode == 0 and "kafka stopped" in stop.stdout
    assert not pid_alive(pid)  # terminated (a zombie only if this PID 1 does not reap orphans)
    assert not port_open(port) and not port_open(port + 1)
    assert gamevault("kafka", "status", env=env).returncode == 1


def test_missing_java_is_explained(tmp_path):
    env = {**os.environ, "GAMEVAULT_HOME": str(tmp_path), "PATH": "/nonexistent", "JAVA_HOME": ""}
    env.pop("KAFKA_HOME", None)
    result = gamevault("kafka", "start", "--kafka-port", str(free_port(span=2)), env=env)
    assert result.returncode != 0
    assert "Java was not found" in result.stderr and "JDK" in result.stderr

"""Loopback ports for local brokers and test servers."""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path


class BrokerError(RuntimeError):
    """A broker could not be installed, started or stopped; the message says what to do."""


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


def pid_alive(pid: int) -> bool:
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


def reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass

"""The process supervisor behind `gamevault up`.

Children run in their own sessions (a terminal's Ctrl-C reaches only the supervisor, which then
stops them in order: workers first, the broker last) and die with the supervisor even if it is
killed (PR_SET_PDEATHSIG). A child that exits on its own is restarted with a backoff.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    stop_timeout: float = 20.0
    restart: bool = True
    proc: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, preexec_fn=_die_with_parent,
            )
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(self.stop_timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Supervisor:
    echo: Callable[[str], None]
    children: list[Child] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def add(self, child: Child) -> Child:
        self.children.append(child)
        child.start()
        return child

    def install_signals(self) -> None:
        def handler(signum: int, _frame: object) -> None:
            self.stopping.set()

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)

    def watch(self) -> None:
        """Block until asked to stop; restart children that die meanwhile."""
        while not self.stopping.wait(0.5):
            for child in self.children:
                if child.restart and child.proc is not None and child.proc.poll() is not None:
                    code = child.proc.returncode
                    backoff = min(30.0, 2.0 ** min(child.restarts, 5))
                    if time.monotonic() - child.started_at < backoff:
                        continue
                    child.restarts += 1
                    self.echo(f"{child.name} exited with status {code}; restarting "
                              f"(#{child.restarts}, log {child.log_path})")
                    child.start()

    def stop_all(self) -> None:
        """Stop in reverse order of start: workers before the services they need."""
        for child in reversed(self.children):
            child.restart = False
        threads = []
        for child in reversed(self.children):
            t = threading.Thread(target=child.stop)
            t.start()
            threads.append(t)
            if child.name.startswith("worker"):
                continue  # workers stop in parallel; the rest in order
            t.join()
        for t in threads:
            t.join()


def gamevault_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "gamevault", *args]


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env

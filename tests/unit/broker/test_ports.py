"""Ports handed to test brokers and servers: never in the kernel's ephemeral range, never twice."""

import socket

from gamevault.broker import ports as local
from gamevault.broker.ports import _ephemeral_low, free_port


def test_ports_are_below_the_ephemeral_range_and_bindable():
    for _ in range(50):
        base = free_port(span=2)
        assert base + 1 < _ephemeral_low()
        for port in (base, base + 1):
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", port))


def test_a_port_is_never_handed_out_twice():
    ports = []
    for _ in range(200):
        base = free_port(span=2)
        ports += [base, base + 1]
    assert len(ports) == len(set(ports))


def test_a_span_with_a_listening_port_is_skipped(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        busy = taken.getsockname()[1]
        monkeypatch.setattr(local, "_handed_out", set())  # only the bind probe may refuse `busy`
        candidates = iter([busy - 1, busy, busy + 1])  # both spans that hold `busy`, then a free one
        monkeypatch.setattr(local.random, "randrange", lambda lo, hi: next(candidates))
        assert free_port(span=2) == busy + 1

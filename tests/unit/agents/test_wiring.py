"""The worker's wiring, built offline (nothing starts): every internal command has exactly one handler,
every handler's command is declared, and no module spells a command's name instead of importing it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gamevault import worker
from gamevault.config import load_settings
from gamevault.streams.contracts import commands
from gamevault.streams.registry import COMMANDS

PACKAGE = Path(worker.__file__).parent


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    settings = load_settings(tmp_path_factory.mktemp("home"), state_in_memory=True)
    return worker.build(settings)


def test_every_declared_command_has_exactly_one_handler(built):
    handlers: dict[str, list[str]] = {}
    for dispatcher in built.services.dispatchers:
        for type_ in dispatcher.handlers:
            handlers.setdefault(type_, []).append(dispatcher.name)
    assert {t: names for t, names in handlers.items() if len(names) != 1} == {}
    assert sorted(set(COMMANDS) - set(handlers)) == []  # declared, sent by someone, handled by no one
    assert sorted(set(handlers) - set(COMMANDS)) == []  # handled, but not declared


def test_each_handler_sits_on_its_commands_topic(built):
    for dispatcher in built.services.dispatchers:
        for type_ in dispatcher.handlers:
            assert COMMANDS[type_].topic.name == dispatcher.spec.name, type_


def test_the_saga_decides_every_saga_reply():
    from gamevault.domain.saga import STEPS

    assert set(STEPS) == set(commands.SAGA_REPLIES)
    assert all(reply.topic.name == "gamevault.internal.orders.commands" for reply in commands.SAGA_REPLIES)


def test_no_module_spells_a_command_name():
    """A command name written out by hand is a typo waiting to become a dead letter: import it."""
    declared = PACKAGE / "streams" / "contracts" / "commands.py"
    ingress_types = {"gamevault.catalog.product.upsert", "gamevault.catalog.stock.set",
                     "gamevault.reviews.review.submit"}  # also the names of ingress contracts (@event)
    spelled = re.compile(r"""["'](gamevault\.[a-z_]+\.[a-z_.]+)["']""")
    found = []
    for path in PACKAGE.rglob("*.py"):
        if path == declared:
            continue
        for match in spelled.finditer(path.read_text()):
            name = match.group(1)
            if name in COMMANDS and not (name in ingress_types and "contracts" in path.parts):
                found.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert found == []

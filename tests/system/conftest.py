import pytest

FIGURES: list[tuple[str, str]] = []


def pytest_collection_modifyitems(items):
    for item in items:
        if "/system/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def pytest_terminal_summary(terminalreporter):
    """The figures the system tests measured, at the end of every run (CI logs keep them)."""
    if FIGURES:
        terminalreporter.section("system figures")
        for name, text in FIGURES:
            terminalreporter.write_line(f"{name}: {text}")


@pytest.fixture()
def figure(request):
    """figure("...") records a measured figure of this test for the run's summary."""

    def add(text: str) -> None:
        FIGURES.append((request.node.name, text))

    return add


@pytest.fixture()
def system_home(tmp_path):
    return tmp_path / "system"

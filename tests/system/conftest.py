import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "/system/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture()
def system_home(tmp_path):
    return tmp_path / "system"

import sys
import pathlib

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from backend import create_backend  # noqa: E402
from processes import moto  # noqa: E402


@pytest.fixture(scope="session")
def moto_endpoint(tmp_path_factory):
    with moto(tmp_path_factory.mktemp("moto")) as endpoint:
        yield endpoint


@pytest.fixture
def backend(moto_endpoint):
    """A fresh table, queue and bucket per test, named apart in one moto server."""
    return create_backend(moto_endpoint)

import pytest

from sim_process import running_sim


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with running_sim(tmp_path_factory.mktemp("sim") / "output", gpus=4, exec_ms=300) as (base, log):
        yield base, log

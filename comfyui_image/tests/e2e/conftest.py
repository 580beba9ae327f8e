import pytest

from sim_process import EXECUTORS, running_sim


@pytest.fixture(scope="module", params=EXECUTORS)
def executor(request):
    """The simulator's executor mode (COMFY_MULTI_GPU_EXECUTOR); the test id shows it."""
    return request.param


@pytest.fixture(scope="module")
def sim(tmp_path_factory, executor):
    with running_sim(tmp_path_factory.mktemp("sim") / "output", gpus=4, exec_ms=300,
                     executor=executor) as (base, log):
        yield base, log

import pytest

from multigpu.core.routing import GpuLoad, choose_gpu

A = frozenset({"a.safetensors"})
B = frozenset({"b.safetensors"})


def load(gpu, ahead, exec_s=10.0, models=frozenset()):
    return GpuLoad(gpu, ahead, exec_s, models)


def test_least_expected_wait_wins_queue_length_times_execution_time():
    # GPU 0 has 1 prompt ahead but is slow (30 s); GPU 1 has 2 ahead at 10 s each.
    assert choose_gpu([load(0, 1, 30.0), load(1, 2, 10.0)], frozenset()) == 1


def test_ties_go_to_the_lowest_index_so_idle_gpus_fill_in_order():
    assert choose_gpu([load(0, 0), load(1, 0), load(2, 0)], frozenset()) == 0


def test_a_warm_gpu_is_preferred_when_it_costs_at_most_one_execution_more():
    assert choose_gpu([load(0, 0, models=B), load(1, 0, models=A)], A) == 1
    assert choose_gpu([load(0, 0, models=B), load(1, 1, models=A)], A) == 1


def test_affinity_is_dropped_when_the_warm_gpu_is_more_than_one_execution_behind():
    assert choose_gpu([load(0, 0, models=B), load(1, 2, models=A)], A) == 0


def test_affinity_slack_is_configurable():
    loads = [load(0, 0, models=B), load(1, 2, models=A)]
    assert choose_gpu(loads, A, affinity_slack=2.0) == 1
    assert choose_gpu(loads, A, affinity_slack=0.0) == 0


def test_no_gpus_is_an_error():
    with pytest.raises(ValueError):
        choose_gpu([], A)

from multigpu.core.metrics import PoolMetrics


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_the_log_line_reports_the_window_after_ten_prompts():
    clock = Clock()
    metrics = PoolMetrics(2, clock=clock)
    for i in range(10):
        metrics.task_started(0, wait_seconds=0.150, queue_depth=2 if i % 2 else 3)
        metrics.task_finished(0, exec_seconds=15.234, outcome="success", ooms=0)
    assert metrics.maybe_log(0) == (
        "[GPU 0] tasks=10, success=100.0%, queue=2.5, wait=150ms, exec=15234ms, oom=0")
    assert metrics.maybe_log(0) is None  # a new window has started


def test_the_log_line_is_due_after_sixty_seconds_even_with_few_prompts():
    clock = Clock()
    metrics = PoolMetrics(1, clock=clock)
    metrics.task_started(0, 0.5, 0)
    metrics.task_finished(0, 2.0, "error", ooms=2)
    assert metrics.maybe_log(0) is None
    clock.now += 60
    assert metrics.maybe_log(0) == (
        "[GPU 0] tasks=1, success=0.0%, queue=0.0, wait=500ms, exec=2000ms, oom=2")


def test_execution_estimate_is_a_moving_average_and_unmeasured_gpus_borrow_the_mean():
    metrics = PoolMetrics(2, clock=Clock(), initial_exec_seconds=10.0, ewma_alpha=0.5)
    assert metrics.exec_estimate(1) == 10.0
    metrics.task_finished(0, 4.0, "success", 0)
    metrics.task_finished(0, 8.0, "success", 0)
    assert metrics.exec_estimate(0) == 6.0
    assert metrics.exec_estimate(1) == 6.0
    metrics.task_finished(0, 100.0, "interrupted", 0)  # a cut-short run says nothing
    assert metrics.exec_estimate(0) == 6.0


def test_prometheus_exposition_has_per_gpu_series():
    metrics = PoolMetrics(2, clock=Clock())
    metrics.task_started(1, 0.2, 1)
    metrics.task_finished(1, 3.0, "success", ooms=1)
    metrics.set_queue_depth(1, 4)
    body, content_type = metrics.exposition()
    text = body.decode()
    assert content_type.startswith("text/plain")
    assert 'comfyui_gpu_prompts_total{gpu="1",outcome="success"} 1.0' in text
    assert 'comfyui_gpu_oom_total{gpu="1"} 1.0' in text
    assert 'comfyui_gpu_queue_depth{gpu="1"} 4.0' in text
    assert 'comfyui_gpu_queue_wait_seconds_count{gpu="1"} 1.0' in text
    assert 'comfyui_gpu_prompts_total{gpu="0",outcome="success"} 0.0' in text

"""ComfyUI's PromptQueue interface over the GPU pool."""
from multigpu.comfy_adapter.prompt_queue import make_prompt_queue_class
from multigpu.core.executor import ExecutionResult
from multigpu.core.pool import GpuPool
from multigpu.core.request_context import begin_request, end_request
from multigpu.core.task import Task


class IdleExecutor:
    def interrupt(self, gpu_id, prompt_id):
        pass


def item(prompt_id, number=0):
    prompt = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd.safetensors"}}}
    return (number, prompt_id, prompt, {"client_id": "c"}, ["1"], {"api_key_comfy_org": "secret"})


class StockQueue:
    class ExecutionStatus:
        pass


def new_queue(num_gpus=2):
    pool = GpuPool(IdleExecutor(), num_gpus)
    queue_class = make_prompt_queue_class(pool, StockQueue)
    return pool, queue_class(server=None)


def test_put_routes_to_the_requested_gpu_and_records_it_for_the_response():
    pool, queue = new_queue()
    token, routing = begin_request(target_gpu=1)
    try:
        queue.put(item("p1"))
    finally:
        end_request(token)
    assert routing.routed_gpu == 1
    assert pool.queue_snapshot(1)["queue_pending"][0][1] == "p1"


def test_queue_views_report_totals_over_all_gpus_without_sensitive_data():
    pool, queue = new_queue()
    for n in range(3):
        queue.put(item(f"p{n}", number=n))
    running, pending = queue.get_current_queue_volatile()
    assert running == [] and [entry[1] for entry in pending] == ["p0", "p1", "p2"]
    assert all(len(entry) == 5 for entry in pending)  # the stock 5-tuple, sensitive data removed
    assert queue.get_tasks_remaining() == 3
    assert queue.delete_queue_item(lambda entry: entry[1] == "p1") is True
    assert queue.delete_queue_item(lambda entry: entry[1] == "nope") is False
    assert queue.get_tasks_remaining() == 2
    queue.wipe_queue()
    assert queue.get_tasks_remaining() == 0


def test_the_stock_prompt_worker_is_kept_idle():
    _, queue = new_queue()
    assert queue.get(timeout=0.01) is None
    queue.set_flag("free_memory", True)
    assert queue.get_flags() == {}
    assert queue.ExecutionStatus is StockQueue.ExecutionStatus


def test_free_flags_reach_every_gpu_worker():
    pool, queue = new_queue()
    queue.set_flag("unload_models", True)
    assert [w._free_request for w in pool._workers] == [(True, False), (True, False)]


def test_history_comes_from_the_pool_with_the_stock_map_function():
    pool, queue = new_queue()
    task = Task(number=0, prompt_id="done", prompt={})
    pool.history.record(task, ExecutionResult(success=True, outputs={"9": {"images": []}}), gpu_id=1)
    assert queue.get_history("done")["done"]["outputs"] == {"9": {"images": []}}
    assert queue.get_history(map_function=lambda entry: entry["status"]["status_str"]) == {"done": "success"}
    queue.delete_history_item("done")
    assert queue.get_history() == {}

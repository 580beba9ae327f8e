import threading

from multigpu.core.queues import GpuQueues
from multigpu.core.routing import choose_gpu

from fake_executor import make_task


def queues(n=4, exec_s=1.0):
    return GpuQueues(n, lambda gpu: exec_s)


def test_a_pinned_prompt_goes_to_its_gpu_and_is_never_stolen():
    q = queues(2)
    q.submit(make_task("p1"), 1, choose_gpu)
    q.submit(make_task("p2"), 1, choose_gpu)
    assert q.take(0, timeout=0.01) is None  # GPU 0 is idle but may not steal pinned work
    assert q.take(1, timeout=0.01).prompt_id == "p1"


def test_an_idle_gpu_steals_the_oldest_unpinned_prompt_from_the_longest_queue():
    q = queues(3)
    q.submit(make_task("a1"), 1, choose_gpu)  # pinned
    for name in ("u1", "u2"):  # unpinned, forced onto GPU 1 through the chooser
        q.submit(make_task(name), None, lambda loads, models: 1)
    q.submit(make_task("c1"), None, lambda loads, models: 2)
    stolen = q.take(0, timeout=0.01)
    assert stolen.prompt_id == "u1"
    assert [t.prompt_id for t in q.snapshot(1)[1]] == ["a1", "u2"]


def test_queue_edits_are_scoped_to_one_gpu_when_asked():
    q = queues(2)
    q.submit(make_task("x"), 0, choose_gpu)
    q.submit(make_task("y"), 1, choose_gpu)
    assert q.delete(["x", "y"], gpu=1) == ["y"]
    assert q.clear(gpu=1) == 0
    assert q.clear(gpu=0) == 1
    assert q.remaining() == 0


def test_every_prompt_runs_exactly_once_under_concurrent_submitters_and_workers():
    q = queues(4)
    taken, lock = [], threading.Lock()
    stop = threading.Event()

    def worker(gpu):
        while not stop.is_set():
            task = q.take(gpu, timeout=0.01)
            if task is not None:
                with lock:
                    taken.append(task.prompt_id)
                q.finish(gpu)

    def submitter(n):
        for i in range(250):
            target = (i % 4) if i % 3 == 0 else None
            q.submit(make_task(f"s{n}-{i}", models={f"m{i % 2}"}), target, choose_gpu)

    workers = [threading.Thread(target=worker, args=(g,)) for g in range(4)]
    submitters = [threading.Thread(target=submitter, args=(n,)) for n in range(4)]
    for t in workers + submitters:
        t.start()
    for t in submitters:
        t.join()
    while q.remaining():
        threading.Event().wait(0.01)
    stop.set()
    for t in workers:
        t.join()
    assert len(taken) == 1000
    assert len(set(taken)) == 1000


def test_tail_models_predict_what_a_gpu_will_have_loaded():
    q = queues(2)
    seen = {}

    def spy(loads, models):
        seen["loads"] = loads
        return 0

    q.submit(make_task("a", models={"a.safetensors"}), 1, choose_gpu)
    q.submit(make_task("b"), None, spy)
    assert seen["loads"][1].tail_models == frozenset({"a.safetensors"})
    assert seen["loads"][1].ahead == 1
    assert seen["loads"][0].ahead == 0


def test_each_queue_runs_in_number_order_so_front_prompts_run_next_like_stock():
    q = queues(1)
    for number, name in ((1, "first"), (2, "second"), (-3, "front"), (2, "tie"), (0.5, "explicit")):
        q.submit(make_task(name, number=number), 0, choose_gpu)
    taken = []
    while True:
        task = q.take(0, timeout=0)
        if task is None:
            break
        taken.append(task.prompt_id)
        q.finish(0)
    assert taken == ["front", "explicit", "first", "second", "tie"]


def test_a_front_prompt_is_routed_by_the_prompts_it_would_really_wait_for():
    q = queues(2)
    for i in range(3):  # GPU 0: three prompts queued; GPU 1: one running
        q.submit(make_task(f"a{i}", number=i), 0, choose_gpu)
    q.submit(make_task("b", number=3), 1, choose_gpu)
    assert q.take(1, timeout=0).prompt_id == "b"
    seen = []
    q.submit(make_task("front", number=-4), None,
             lambda loads, models: seen.append([(l.gpu_id, l.ahead) for l in loads]) or 0)
    assert seen == [[(0, 0), (1, 1)]]  # nothing queued on GPU 0 runs before a front prompt
    assert q.take(0, timeout=0).prompt_id == "front"

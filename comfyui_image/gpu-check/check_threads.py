"""Device routing from helper threads (issue 22 item 5): where a tensor created with a bare
"cuda" lands when a GPU worker hands work to a plain thread, a ThreadPoolExecutor and
run_in_executor, with stock threading and with the adapter's propagation patches."""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Dict

from multigpu.comfy_adapter.thread_binding import DeviceBinder, patch_executor_submit, patch_thread_start
from multigpu.comfy_adapter.worker_binding import bind_current_thread
from stats import line


def run(torch, *, device_type: str) -> Dict[str, Dict[str, object]]:
    gpus = torch.cuda.device_count() if device_type == "cuda" else 0
    worker_gpu = max(gpus - 1, 0)
    results = {"stock": _routes(torch, gpus, worker_gpu)}
    binder = DeviceBinder(torch.cuda.set_device if gpus else (lambda gpu: None),
                          torch.cuda.current_device if gpus else (lambda: None))
    undo = [patch_thread_start(binder), patch_executor_submit(binder)]
    try:
        results["patched"] = _routes(torch, gpus, worker_gpu)
    finally:
        for step in undo:
            step()
    note = {} if gpus > 1 else {"note": "one device: stock and patched cannot differ"}
    for mode, routes in results.items():
        print(line(f"helper_threads[{mode}]", worker_gpu=worker_gpu, **routes, **note))
    return results


def _routes(torch, gpus: int, worker_gpu: int) -> Dict[str, object]:
    """The device index a bare-"cuda" tensor gets from each kind of helper, asked on a worker."""
    def where():
        if not gpus:
            return "cpu"
        return torch.ones(1, device="cuda").device.index

    def on_worker():
        bind_current_thread(worker_gpu)
        if gpus:
            torch.cuda.set_device(worker_gpu)
        found = {"worker": where()}
        box = {}
        thread = threading.Thread(target=lambda: box.setdefault("v", where()))
        thread.start()
        thread.join()
        found["thread"] = box["v"]
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            found["executor"] = pool.submit(where).result()

        async def in_executor():
            return await asyncio.get_running_loop().run_in_executor(None, where)

        found["run_in_executor"] = asyncio.run(in_executor())
        return found

    box = {}
    worker = threading.Thread(target=lambda: box.setdefault("v", on_worker()))
    worker.start()
    worker.join()
    return box["v"]

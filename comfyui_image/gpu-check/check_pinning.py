"""Pin/unpin races on a shared tensor (issue 22 item 8): one CPU tensor, as the weights cache
hands it to every GPU, pinned and unpinned by one thread per GPU while each copies it to its GPU
with non_blocking=True. Stock ComfyUI registers and unregisters the range per call (the second
registration fails, the first unpin unregisters under the other GPU's copy); the adapter's
ledger counts holders and unregisters once."""
from __future__ import annotations

import threading
from typing import Dict

from multigpu.core.pinned_memory import PinnedLedger
from stats import line


def run(torch, *, device_type: str, mib: int, rounds: int) -> Dict[str, Dict[str, int]]:
    gpus = torch.cuda.device_count() if device_type == "cuda" else 0
    if not gpus:
        print(line("pin_race", skipped="no CUDA device (dry run): pinning needs CUDA"))
        return {}
    threads = max(gpus, 2)  # one GPU: two workers' threads share it
    shared = torch.ones(mib << 20, dtype=torch.uint8)
    results = {"stock": _race(torch, shared, threads, gpus, rounds, _stock(torch)),
               "ledger": _race(torch, shared, threads, gpus, rounds, _ledger(torch))}
    for mode, figures in results.items():
        print(line(f"pin_race[{mode}]", threads=threads, mib=mib, rounds=rounds, **figures))
    return results


def _stock(torch):
    cudart = torch.cuda.cudart()

    def pin(tensor, gpu):
        return cudart.cudaHostRegister(tensor.data_ptr(), tensor.nbytes, 1) == 0

    def unpin(tensor, gpu):
        return cudart.cudaHostUnregister(tensor.data_ptr()) == 0

    return pin, unpin


def _ledger(torch):
    cudart = torch.cuda.cudart()
    ledger = PinnedLedger(budget_per_gpu=1 << 62)

    def pin(tensor, gpu):
        return ledger.pin(tensor.data_ptr(), tensor.nbytes, gpu,
                          lambda: cudart.cudaHostRegister(tensor.data_ptr(), tensor.nbytes, 1) == 0)

    def unpin(tensor, gpu):
        return ledger.unpin(tensor.data_ptr(), tensor.nbytes, gpu,
                            lambda: cudart.cudaHostUnregister(tensor.data_ptr()) == 0)

    return pin, unpin


def _race(torch, shared, threads: int, gpus: int, rounds: int, calls) -> Dict[str, int]:
    pin, unpin = calls
    counts = {"pin_ok": 0, "pin_failed": 0, "unpin_ok": 0, "unpin_failed": 0, "copies_unpinned": 0,
              "copy_errors": 0, "bad_copies": 0}
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def add(key: str) -> None:
        with lock:
            counts[key] += 1

    def worker(index: int) -> None:
        gpu = index % gpus
        torch.cuda.set_device(gpu)
        stream = torch.cuda.Stream()
        start.wait()
        for _ in range(rounds):
            pinned = pin(shared, index)
            add("pin_ok" if pinned else "pin_failed")
            try:
                with torch.cuda.stream(stream):
                    if not shared.is_pinned():
                        add("copies_unpinned")
                    copy = shared.to("cuda", non_blocking=True)  # another thread may unpin meanwhile
                stream.synchronize()
                if int(copy[:: 1 << 20].sum().item()) != copy[:: 1 << 20].numel():
                    add("bad_copies")
            except RuntimeError:
                add("copy_errors")
                torch.cuda.synchronize()
            if pinned:  # after this thread's own copy finished
                add("unpin_ok" if unpin(shared, index) else "unpin_failed")

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    try:  # leave nothing registered for the next mode
        torch.cuda.cudart().cudaHostUnregister(shared.data_ptr())
    except RuntimeError:
        pass
    return counts

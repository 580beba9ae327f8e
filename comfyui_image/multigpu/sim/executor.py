"""A simulated executor with ComfyUI's message sequence and history shape.

- Execution takes `exec_ms` (sleeping, so N workers really run in parallel), split across the
  KSampler's steps with a `progress` message per step.
- Switching a GPU to different models costs `load_ms` (counted in `model_loads`). With a weights
  cache, each model file is "read" through the real core cache (core/shared_file_cache.py) and held
  while a GPU has it loaded, so /metrics shows disk reads vs RAM hits as the image's adapter does.
- A `SimulateOOM` node with input `times: k` makes the first k attempts run out of memory.
- A `SimulateGpuFault` node fails the prompt with a CUDA error that counts against the GPU, so
  three in a row take it out of service (core/breaker.py); the simulated probe always passes.
- A `SimulateCrash` node calls `crash` (a simulated stock worker kills its own process), a
  `SimulateHang` node `hang` (it goes silent for good, deaf to interrupts), a `SimulateWedge`
  node `wedge` (its server's event loop blocks for good); the default, for
  thread mode, raises, which fails the prompt as the GPU's fault.
- With `previews` N, the first N sampler steps each send a PNG preview as a type-4 binary frame
  (its metadata names the prompt; the hub sends type 1 to clients that did not ask for metadata).
- Each SaveImage node writes a small real PNG into the output folder.
"""
from __future__ import annotations

import os
import re
import threading
import time
from typing import Callable, Dict, FrozenSet, List, Optional

from ..core.executor import ExecutionResult
from ..core.previews import preview_with_metadata
from ..core.shared_file_cache import SharedFileCache
from ..core.task import Task
from .png import colour_for_seed, solid_png

Send = Callable[[str, dict, Optional[str]], None]

OOM_MESSAGE = "CUDA out of memory. Tried to allocate 2.00 GiB (simulated)"
GPU_FAULT_MESSAGE = "CUDA error: an illegal memory access was encountered (simulated)"
# What the weights cache charges per simulated model file (an SDXL checkpoint is ~6.5 GiB, a LoRA
# far less); only the budget's arithmetic depends on it.
SIMULATED_FILE_BYTES = 2 * 2**30


def _now_ms() -> int:
    return int(time.time() * 1000)


class SimExecutor:
    def __init__(self, num_gpus: int, *, exec_ms: float, load_ms: float, warmup_ms: float,
                 output_dir: str, send: Send, weights_cache: Optional[SharedFileCache] = None,
                 crash: Optional[Callable[[], None]] = None, hang: Optional[Callable[[], None]] = None,
                 wedge: Optional[Callable[[], None]] = None,
                 previews: int = 0,
                 send_binary: Optional[Callable[[bytes, Optional[str]], None]] = None):
        self._exec_s = exec_ms / 1000.0
        self._load_s = load_ms / 1000.0
        self._warmup_s = warmup_ms / 1000.0
        self._output_dir = output_dir
        self._send = send
        self._weights = weights_cache
        self._crash = crash or _refuse_crash
        self._hang = hang or _refuse_crash
        self._wedge = wedge or _refuse_crash
        self._previews = previews if send_binary is not None else 0
        self._send_binary = send_binary
        self._interrupts = [threading.Event() for _ in range(num_gpus)]
        self._interrupted: Dict[int, str] = {}  # the prompt each GPU's latest interrupt was for
        self._loaded: List[FrozenSet[str]] = [frozenset() for _ in range(num_gpus)]
        self._attempts: Dict[str, int] = {}
        self._thread_gpu = threading.local()
        self.model_loads = [0] * num_gpus
        self.executed_on: Dict[str, int] = {}

    # ---- Executor protocol -------------------------------------------------------------
    def bind_thread(self, gpu_id: int) -> None:
        self._thread_gpu.gpu = gpu_id

    def warmup(self, gpu_id: int) -> None:
        if getattr(self._thread_gpu, "gpu", None) != gpu_id:
            raise RuntimeError(f"warmup for GPU {gpu_id} ran on another worker's thread")
        time.sleep(self._warmup_s)

    def probe(self, gpu_id: int) -> None:
        """A simulated GPU always computes; a broken one is for the core's tests to script."""

    def interrupt(self, gpu_id: int, prompt_id: str) -> None:
        self._interrupted[gpu_id] = prompt_id
        self._interrupts[gpu_id].set()

    def recover_from_oom(self, gpu_id: int) -> None:
        self._switch_models(gpu_id, frozenset())

    def free(self, gpu_id: int, *, unload_models: bool, free_memory: bool) -> None:
        if unload_models or free_memory:
            self._switch_models(gpu_id, frozenset())

    def announce_done(self, gpu_id: int, task: Task, result: ExecutionResult) -> None:
        self._send("executing", {"node": None, "prompt_id": task.prompt_id}, task.client_id)

    def execute(self, gpu_id: int, task: Task, *, last_attempt: bool) -> ExecutionResult:
        stop = self._interrupts[gpu_id]
        if self._interrupted.pop(gpu_id, None) != task.prompt_id:
            stop.clear()  # as ComfyUI's executor does when a prompt starts (ComfyExecutor's rule)
        self.executed_on[task.prompt_id] = gpu_id
        client, pid = task.client_id, task.prompt_id
        messages = []

        def report(event: str, data: dict, record: bool = True) -> None:
            data = dict(data, prompt_id=pid)
            if record:
                messages.append((event, data))
            self._send(event, data, client)

        report("execution_start", {"timestamp": _now_ms()})
        report("execution_cached", {"nodes": [], "timestamp": _now_ms()})
        if task.models and task.models != self._loaded[gpu_id]:
            self._switch_models(gpu_id, task.models)
            time.sleep(self._load_s)
            self.model_loads[gpu_id] += 1

        outputs, meta = {}, {}
        for node_id in sorted(task.prompt, key=_node_order):
            node = task.prompt[node_id]
            kind = node.get("class_type")
            inputs = node.get("inputs", {})
            report("executing", {"node": node_id, "display_node": node_id}, record=False)
            if kind == "SimulateOOM" and self._should_oom(pid, int(inputs.get("times", 1))):
                error = {"node_id": node_id, "node_type": kind, "executed": [],
                         "exception_message": OOM_MESSAGE,
                         "exception_type": "torch.OutOfMemoryError", "traceback": [],
                         "current_inputs": {}, "current_outputs": {}}
                if last_attempt:
                    report("execution_error", error)
                else:
                    messages.append(("execution_error", dict(error, prompt_id=pid)))
                return ExecutionResult(success=False, messages=messages, out_of_memory=True,
                                       error=OOM_MESSAGE)
            if kind == "SimulateGpuFault":
                report("execution_error", {"node_id": node_id, "node_type": kind, "executed": [],
                                           "exception_message": GPU_FAULT_MESSAGE,
                                           "exception_type": "torch.AcceleratorError",
                                           "traceback": [], "current_inputs": {},
                                           "current_outputs": {}})
                return ExecutionResult(success=False, messages=messages, error=GPU_FAULT_MESSAGE)
            if kind == "SimulateCrash":
                self._crash()
            if kind == "SimulateHang":
                self._hang()
            if kind == "SimulateWedge":
                self._wedge()
            if kind == "KSampler":
                steps = max(int(inputs.get("steps", 20)), 1)
                for step in range(1, steps + 1):
                    if stop.wait(self._exec_s / steps):
                        report("execution_interrupted", {"node_id": node_id, "node_type": kind,
                                                         "executed": list(outputs)})
                        return ExecutionResult(success=False, messages=messages, interrupted=True)
                    report("progress", {"value": step, "max": steps, "node": node_id}, record=False)
                    if step <= self._previews:
                        self._send_binary(preview_with_metadata(
                            solid_png(4, 4, colour_for_seed(step)),
                            {"image_type": "image/png", "prompt_id": pid, "node_id": node_id,
                             "display_node_id": node_id, "parent_node_id": None,
                             "real_node_id": node_id}), client)
            if kind == "SaveImage":
                image = self._save_png(inputs, task)
                outputs[node_id] = {"images": [image]}
                meta[node_id] = {"node_id": node_id, "display_node": node_id,
                                 "parent_node": None, "real_node_id": node_id}
                report("executed", {"node": node_id, "display_node": node_id,
                                    "output": {"images": [image]}}, record=False)
        report("execution_success", {"timestamp": _now_ms()})
        return ExecutionResult(success=True, outputs=outputs, meta=meta, messages=messages)

    # ---- helpers -------------------------------------------------------------------------
    def _switch_models(self, gpu_id: int, models: FrozenSet[str]) -> None:
        """The GPU now holds `models`: take cache references for them, drop the old ones."""
        previous, self._loaded[gpu_id] = self._loaded[gpu_id], models
        if self._weights is None:
            return
        for name in sorted(models):
            self._weights.acquire(name, lambda: SIMULATED_FILE_BYTES)
        for name in previous:
            self._weights.release(name)

    def _should_oom(self, prompt_id: str, times: int) -> bool:
        attempt = self._attempts.get(prompt_id, 0) + 1
        self._attempts[prompt_id] = attempt
        return attempt <= times

    def _save_png(self, inputs: dict, task: Task) -> dict:
        # As ComfyUI's folder_paths.get_save_image_path: a prefix with folders ("jobs/<id>/x") saves
        # into that subfolder of the output folder, and one that leaves the folder is refused.
        prefix = os.path.normpath(str(inputs.get("filename_prefix", "ComfyUI")))
        subfolder, base = os.path.split(prefix)
        folder = os.path.realpath(os.path.join(self._output_dir, subfolder))
        root = os.path.realpath(self._output_dir)
        if os.path.commonpath((root, folder)) != root:
            raise ValueError(f"filename_prefix {prefix!r} saves outside the output folder")
        os.makedirs(folder, exist_ok=True)
        name, handle = _claim_name(folder, base)
        with handle:
            handle.write(solid_png(8, 8, colour_for_seed(_seed_of(task.prompt))))
        return {"filename": name, "subfolder": subfolder, "type": "output"}


def _claim_name(folder: str, base: str):
    """The next `<base>_NNNNN_.png` after those in the folder, as folder_paths.get_save_image_path
    counts, created exclusively: simulated workers in several processes (process mode) share the
    folder, and stock's list-then-write race is the design's save lock, not the simulator's."""
    pattern = re.compile(re.escape(base) + r"_(\d{5})_")
    counter = max((int(m.group(1)) for m in map(pattern.match, os.listdir(folder)) if m), default=0) + 1
    while True:
        name = f"{base}_{counter:05}_.png"
        try:
            return name, open(os.path.join(folder, name), "xb")
        except FileExistsError:
            counter += 1


def _refuse_crash() -> None:
    raise RuntimeError("SimulateCrash/SimulateHang: only a simulated stock worker's process dies or hangs")


def _node_order(node_id: str):
    return (0, int(node_id)) if node_id.isdigit() else (1, node_id)


def _seed_of(prompt: dict) -> int:
    for node in prompt.values():
        seed = node.get("inputs", {}).get("seed") if isinstance(node, dict) else None
        if isinstance(seed, int):
            return seed
    return 0

"""Whose fault a failed prompt is: the workflow's or the GPU's (for the per-GPU breaker).

The rule, in order:
1. Interrupted: nobody's.
2. Out of memory (also after the retry): the workflow's. The retry already unloaded this GPU's
   models and emptied its cache; a prompt that still does not fit needs more memory than the GPU
   has, and every GPU on a node is the same model, so moving it would not help. Counting it would
   let one user's oversized prompts take every GPU, and then the pod, out of service.
3. The executor itself raised (it never does for a node's exception, which ComfyUI reports as an
   `execution_error` message): the GPU's. The worker's machinery is broken.
4. An `execution_error` whose exception is a CUDA failure other than out of memory (a sticky
   "CUDA error: ...", cuBLAS/cuDNN status errors, device-side asserts, illegal memory access,
   ECC errors, a lost device): the GPU's.
5. An `execution_error` raised inside ComfyUI's memory manager (comfy/model_management.py) or this
   package (innermost traceback frame): the GPU's. These are the platform's own state going
   wrong on this GPU (e.g. a dead entry in its loaded-model list), not the workflow's inputs.
   Except the adapter's deliberate refusals of what a custom node did (WORKFLOW_ERROR_TYPES,
   e.g. a model another worker loaded): the workflow's.
6. Any other node exception (ValueError from a widget value, a missing file, a shape mismatch):
   the workflow's. It would fail the same way on any GPU.
The executor may decide itself by setting `ExecutionResult.gpu_fault`; None means "apply the rule".
"""
from __future__ import annotations

import re
from typing import Iterable, Optional

from .executor import ExecutionResult

GPU = "gpu"
WORKFLOW = "workflow"
NONE = "none"

_OOM = re.compile(r"out of memory|OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED|"
                  r"CUDNN_STATUS_(?:ALLOC_FAILED|NOT_ENOUGH_WORKSPACE)", re.IGNORECASE)
_CUDA_FAILURE = re.compile(
    r"CUDA error|CUDA driver|CUBLAS_STATUS_|CUDNN_STATUS_|cuDNN error|device-side assert|"
    r"illegal memory access|unspecified launch failure|ECC error|no CUDA-capable device|"
    r"AcceleratorError|NCCL error|CUDA kernel errors", re.IGNORECASE)
_PLATFORM_FRAME = re.compile(r"comfy[/\\]model_management\.py|[/\\]multigpu[/\\]")
# The adapter's refusals of what a workflow's custom node did (comfy_adapter/placement.py); ComfyUI
# reports the module-qualified name, so the last part is compared.
WORKFLOW_ERROR_TYPES = ("ModelOnAnotherGpuError",)


def _innermost_frame(traceback_lines: Iterable[str]) -> str:
    frames = [line for line in traceback_lines if isinstance(line, str) and "File " in line]
    return frames[-1] if frames else ""


def looks_like_out_of_memory(exception_type: str, exception_message: str) -> bool:
    """torch.OutOfMemoryError, and what CUDA reports as other errors when an allocation fails:
    "CUDA error: out of memory" RuntimeErrors (a kernel's or a library's own allocation),
    CUBLAS_STATUS_ALLOC_FAILED (cuBLAS handle or workspace), CUDNN_STATUS_ALLOC_FAILED and
    CUDNN_STATUS_NOT_ENOUGH_WORKSPACE."""
    return bool(_OOM.search(f"{exception_type}: {exception_message}"))


def classify_error(exception_type: str, exception_message: str,
                   traceback_lines: Iterable[str] = ()) -> str:
    """GPU or WORKFLOW for one `execution_error` message's fields (rules 2, 4-6)."""
    if looks_like_out_of_memory(exception_type, exception_message):
        return WORKFLOW
    if exception_type.rsplit(".", 1)[-1] in WORKFLOW_ERROR_TYPES:
        return WORKFLOW
    text = f"{exception_type}: {exception_message}"
    if _CUDA_FAILURE.search(text):
        return GPU
    if _PLATFORM_FRAME.search(_innermost_frame(traceback_lines)):
        return GPU
    return WORKFLOW


def classify_result(result: ExecutionResult) -> str:
    """NONE for a success or an interrupt, else GPU or WORKFLOW (the rule above)."""
    if result.success or result.interrupted:
        return NONE
    if result.gpu_fault is not None:
        return GPU if result.gpu_fault else WORKFLOW
    if result.out_of_memory:
        return WORKFLOW
    error = _last_error(result)
    if error is None:
        return classify_error("", result.error or "")
    traceback = error.get("traceback") or ()
    return classify_error(str(error.get("exception_type", "")),
                          str(error.get("exception_message", "")),
                          traceback if isinstance(traceback, (list, tuple)) else ())


def _last_error(result: ExecutionResult) -> Optional[dict]:
    found = None
    for event, data in result.messages:
        if event == "execution_error" and isinstance(data, dict):
            found = data
    return found

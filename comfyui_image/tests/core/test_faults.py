"""Whose fault a failed prompt is decides whether it counts towards the GPU's breaker."""
import pytest

from multigpu.core.executor import ExecutionResult
from multigpu.core.faults import GPU, NONE, WORKFLOW, classify_error, classify_result

NODE_FRAME = '  File "/opt/comfyui/custom_nodes/pack/nodes.py", line 9, in run\n    raise ValueError\n'
MM_FRAME = '  File "/opt/comfyui/comfy/model_management.py", line 600, in free_memory\n    x.model_size\n'


@pytest.mark.parametrize("exception_type, message, frames, expected", [
    ("RuntimeError", "CUDA error: an illegal memory access was encountered", [], GPU),
    ("torch.AcceleratorError", "CUDA error: unspecified launch failure", [], GPU),
    ("RuntimeError", "CUDA error: device-side assert triggered", [], GPU),
    ("RuntimeError", "cuDNN error: CUDNN_STATUS_EXECUTION_FAILED", [], GPU),
    ("RuntimeError", "CUDA error: CUBLAS_STATUS_EXECUTION_FAILED when calling cublasGemmEx", [], GPU),
    ("AttributeError", "'NoneType' object has no attribute 'model_size'", [NODE_FRAME, MM_FRAME], GPU),
    # out of memory in any spelling is the workflow's: the core already retried it
    ("torch.OutOfMemoryError", "CUDA out of memory. Tried to allocate 2.00 GiB", [], WORKFLOW),
    ("RuntimeError", "CUDA error: out of memory", [], WORKFLOW),
    ("RuntimeError", "CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling cublasCreate(handle)", [], WORKFLOW),
    ("RuntimeError", "cuDNN error: CUDNN_STATUS_NOT_ENOUGH_WORKSPACE", [], WORKFLOW),
    # the adapter refusing what a custom node did
    ("multigpu.comfy_adapter.placement.ModelOnAnotherGpuError", "model SDXL belongs to GPU 0",
     ['  File "/opt/image/multigpu/comfy_adapter/placement.py", line 49, in load_models_gpu\n'], WORKFLOW),
    # the workflow's inputs
    ("ValueError", "denoise must be in 0..1", [NODE_FRAME], WORKFLOW),
    ("FileNotFoundError", "missing.safetensors", [NODE_FRAME], WORKFLOW),
    ("RuntimeError", "mat1 and mat2 shapes cannot be multiplied (77x768 and 1024x320)", [NODE_FRAME], WORKFLOW),
])
def test_cuda_failures_and_platform_frames_are_the_gpus_fault_and_the_rest_the_workflows(
        exception_type, message, frames, expected):
    assert classify_error(exception_type, message, frames) == expected


def test_successes_and_interrupts_are_nobodys_fault_and_the_executor_can_decide_itself():
    assert classify_result(ExecutionResult(success=True)) == NONE
    assert classify_result(ExecutionResult(success=False, interrupted=True)) == NONE
    assert classify_result(ExecutionResult(success=False, gpu_fault=True)) == GPU
    assert classify_result(ExecutionResult(success=False, error="CUDA error: x", gpu_fault=False)) == WORKFLOW
    assert classify_result(ExecutionResult(success=False, out_of_memory=True, error="CUDA error: x")) == WORKFLOW


def test_the_last_execution_error_message_is_the_one_classified():
    error = {"exception_type": "RuntimeError", "exception_message": "CUDA error: misaligned address",
             "traceback": [NODE_FRAME]}
    assert classify_result(ExecutionResult(success=False, messages=[
        ("execution_start", {}), ("execution_error", error)])) == GPU

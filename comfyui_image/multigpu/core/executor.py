"""The interface a worker drives: ComfyUI's executor (comfy_adapter) or the simulator's (sim)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

try:  # Python 3.8+: typing.Protocol
    from typing import Protocol
except ImportError:  # pragma: no cover
    Protocol = object  # type: ignore

from .task import Task


@dataclass
class ExecutionResult:
    """What one run of a prompt produced, in the shape ComfyUI's history stores."""

    success: bool
    outputs: Dict[str, Any] = field(default_factory=dict)
    meta: Dict[str, Any] = field(default_factory=dict)
    # Status messages as ComfyUI records them: [(event, data), ...].
    messages: List[Tuple[str, Dict[str, Any]]] = field(default_factory=list)
    # True when the run failed because the GPU ran out of memory (the core retries once).
    out_of_memory: bool = False
    interrupted: bool = False
    error: Optional[str] = None
    # Whose fault a failure is, when the executor knows: True = the GPU's (counts towards its
    # breaker), False = the workflow's; None = let core/faults.py decide from the messages.
    gpu_fault: Optional[bool] = None


class Executor(Protocol):
    """Runs prompts on one GPU per worker thread.

    Every method except `interrupt` is called on the worker thread that owns `gpu_id`.
    """

    def bind_thread(self, gpu_id: int) -> None:
        """Called once when the worker thread starts: select the device, set up thread-local state."""

    def warmup(self, gpu_id: int) -> None:
        """Run a real small workload on the GPU; raise to mark the worker not ready."""

    def execute(self, gpu_id: int, task: Task, *, last_attempt: bool) -> ExecutionResult:
        """Run the prompt. When `last_attempt` is False an out-of-memory failure must not be
        reported to the client (the core will retry); every other message is sent as usual."""

    def recover_from_oom(self, gpu_id: int) -> None:
        """Unload this GPU's models and empty its cache, leaving other GPUs alone."""

    def announce_done(self, gpu_id: int, task: Task, result: ExecutionResult) -> None:
        """Tell the submitting client the prompt finished (after history holds it)."""

    def interrupt(self, gpu_id: int, prompt_id: str) -> None:
        """Ask prompt `prompt_id`, which the queue shows running on `gpu_id`, to stop. Called from
        any thread. The prompt may not have started yet (the queue hands it out before `execute`
        begins) or be between two attempts (an OOM retry): it must still stop once it starts."""

    def free(self, gpu_id: int, *, unload_models: bool, free_memory: bool) -> None:
        """POST /free for this GPU, applied between prompts."""

    def probe(self, gpu_id: int) -> None:
        """Check that the GPU still computes (e.g. a tiny kernel and a synchronize); raise if not.
        Called on the worker thread while the GPU's breaker is open (core/breaker.py)."""

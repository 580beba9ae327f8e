"""Which running prompts a POST /interrupt stops, so one user's Cancel does not stop everyone's.

Stock ComfyUI runs one prompt at a time, so "interrupt" without a prompt id meant "stop what runs".
With a prompt on every GPU it would stop every user's render. The forms, most specific first:
- {"prompt_id": id}: that prompt, wherever it runs. The web UI's Cancel (the Comfy.Interrupt
  command of ComfyUI_frontend, which ComfyUI v0.8.0 pins as comfyui-frontend-package 1.35.9)
  calls `api.interrupt(<its running prompt id>)`, which posts {"prompt_id": ...} when it knows
  that id and no body when it does not (the legacy menu's button never passes one);
- X-TARGET-GPU: i (the per-GPU ports set it): what runs on that GPU;
- {"client_id": id} (or ?client_id= / ?clientId=): that client's running prompts;
- {"all": true}: every running prompt, on purpose;
- nothing: the requesting client cannot be told apart, so it stops what runs only when that is
  unambiguous (one prompt running, or all running prompts belong to one client), and otherwise
  stops nothing and says which form to send.
The form and the GPU header combine: {"all": true} with the header stops that GPU's prompt.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional

from .task import Task


@dataclass(frozen=True)
class InterruptRequest:
    prompt_id: Optional[str] = None
    gpu_id: Optional[int] = None
    client_id: Optional[str] = None
    everything: bool = False


@dataclass
class Interruption:
    gpus: List[int] = field(default_factory=list)
    prompt_ids: List[str] = field(default_factory=list)
    # Why nothing was stopped although prompts run (an anonymous request that was ambiguous).
    refused: Optional[str] = None


def interrupt_targets(running: Dict[int, Task], request: InterruptRequest) -> Interruption:
    """The GPUs to stop, given {gpu: running task}."""
    candidates = {gpu: task for gpu, task in running.items()
                  if request.gpu_id is None or gpu == request.gpu_id}
    if request.prompt_id is not None:
        chosen = {g: t for g, t in candidates.items() if t.prompt_id == request.prompt_id}
    elif request.everything or request.gpu_id is not None:
        chosen = candidates
    elif request.client_id is not None:
        chosen = {g: t for g, t in candidates.items() if t.client_id == request.client_id}
    else:
        clients = {t.client_id for t in candidates.values()}
        if len(candidates) <= 1 or (len(clients) == 1 and None not in clients):
            chosen = candidates
        else:
            return Interruption(refused=(
                f"{len(candidates)} prompts of different clients are running; say which to stop: "
                '{"prompt_id": "..."}, {"client_id": "..."}, the X-TARGET-GPU header, or '
                '{"all": true} to stop every GPU'))
    gpus = sorted(chosen)
    return Interruption(gpus=gpus, prompt_ids=[chosen[g].prompt_id for g in gpus])

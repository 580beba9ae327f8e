"""Per-request routing state shared by the HTTP middleware and the queue ComfyUI's handlers call.

ComfyUI's POST /prompt handler calls `prompt_queue.put(...)` without the request, so the middleware
puts the validated target GPU in a context variable; the queue reads it and records where the prompt
went, and the middleware adds that `gpu_id` to the response. aiohttp runs a handler in its
middleware's task, so both see the same context.
"""
from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Optional


@dataclass
class RequestRouting:
    target_gpu: Optional[int] = None
    routed_gpu: Optional[int] = None
    #: The request came from a browser (it carried Origin): its prompt counts as session activity (sessions.py).
    browser: bool = False


_current: "contextvars.ContextVar[Optional[RequestRouting]]" = contextvars.ContextVar(
    "multigpu_request_routing", default=None
)


def begin_request(target_gpu: Optional[int],
                  browser: bool = False) -> "tuple[contextvars.Token, RequestRouting]":
    routing = RequestRouting(target_gpu=target_gpu, browser=browser)
    return _current.set(routing), routing


def end_request(token: contextvars.Token) -> None:
    _current.reset(token)


def current_request() -> RequestRouting:
    """The routing of the request being handled, or an empty one outside a request."""
    return _current.get() or RequestRouting()


def submit_in_request(pool, task) -> int:
    """Queue `task` where the current request asked (X-TARGET-GPU) or where the pool routes it,
    and record the GPU for the response. Used by ComfyUI's queue replacement and the simulator."""
    routing = current_request()
    gpu = pool.submit(task, routing.target_gpu)
    routing.routed_gpu = gpu
    return gpu

"""One worker ComfyUI over loopback (process mode): the HTTP calls RemoteExecutor makes
(core/remote_executor.py WorkerLink) and the one WebSocket whose messages it relays.

The calls come from the GPU's worker thread and run on the front's event loop; the socket reader
is a task on that loop that reconnects until stopped (a restarted worker is picked up again).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import threading
from typing import Any, Callable, Optional, Sequence, Tuple

import aiohttp

from ..core.remote_executor import upstream_client_id
from ..core.worker_identity import identity_problem

log = logging.getLogger("multigpu.worker_link")

OnMessage = Callable[[int, str, dict], None]
OnBinary = Callable[[int, bytes], None]
# (gpu, up): the worker's WebSocket opened (True) or closed (False)
OnState = Callable[[int, bool], None]
# Stock calls answer at once; a prompt's run is waited for on the socket, not on a call.
REQUEST_TIMEOUT_S = 30.0
PROBE_TIMEOUT_S = 10.0
RECONNECT_DELAY_S = 0.2


class WorkerUnavailable(RuntimeError):
    pass


class HttpWorkerLink:
    def __init__(self, gpu_id: int, base_url: str, on_message: OnMessage,
                 on_state: Optional[OnState] = None, on_binary: Optional[OnBinary] = None,
                 expected_command: Optional[Sequence[str]] = None):
        """With `expected_command` (what the supervisor runs for this GPU), the socket opens only
        to a server whose /system_stats argv matches it (core/worker_identity.py)."""
        self.gpu_id = gpu_id
        self._expected_command = list(expected_command) if expected_command else None
        # Connection attempts refused because someone else answers on the port.
        self.identity_mismatches = 0
        self._last_identity_problem: Optional[str] = None
        self.base_url = base_url.rstrip("/")
        self._on_message = on_message
        self._on_state = on_state or (lambda gpu, up: None)
        self._on_binary = on_binary or (lambda gpu, frame: None)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._session: Optional[aiohttp.ClientSession] = None
        self._reader: "Optional[asyncio.Task]" = None
        self._connected = threading.Event()

    @property
    def up(self) -> bool:
        """The worker's WebSocket is open (so it is serving)."""
        return self._connected.is_set()

    async def start(self, session: aiohttp.ClientSession) -> None:
        self._loop = asyncio.get_running_loop()
        self._session = session
        self._reader = asyncio.ensure_future(self._read_socket())

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    # ---- WorkerLink (called from worker threads) ----------------------------------------------
    def post_prompt(self, body: dict) -> Tuple[int, Any]:
        return self._call("POST", "/prompt", body)

    def history(self, prompt_id: str) -> dict:
        status, body = self._call("GET", f"/history/{prompt_id}")
        return body if status == 200 and isinstance(body, dict) else {}

    def delete_history(self, prompt_id: str) -> None:
        self._call("POST", "/history", {"delete": [prompt_id]})

    def delete_queued(self, prompt_id: str) -> None:
        self._call("POST", "/queue", {"delete": [prompt_id]})

    def interrupt(self, prompt_id: str) -> None:
        future = asyncio.run_coroutine_threadsafe(
            self._request("POST", "/interrupt", {"prompt_id": prompt_id}), self._loop)
        future.add_done_callback(self._log_failure)

    def free(self, unload_models: bool, free_memory: bool) -> None:
        self._call("POST", "/free", {"unload_models": unload_models, "free_memory": free_memory})

    def wait_up(self, timeout: float) -> None:
        if not self._connected.wait(timeout):
            raise WorkerUnavailable(f"ComfyUI for GPU {self.gpu_id} at {self.base_url} did not open "
                                    f"its WebSocket within {timeout:g} s")

    def probe(self) -> None:
        status, _ = self._call("GET", "/system_stats", timeout=PROBE_TIMEOUT_S)
        if status != 200 or not self.up:
            raise WorkerUnavailable(f"ComfyUI for GPU {self.gpu_id}: /system_stats {status}, "
                                    f"WebSocket {'open' if self.up else 'closed'}")

    # ---- the loop side ------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: Optional[dict] = None,
              timeout: Optional[float] = None) -> Tuple[int, Any]:
        """`_request` on the link's loop, waited for from the calling thread."""
        if self._loop is None:
            raise WorkerUnavailable(f"ComfyUI for GPU {self.gpu_id}: link not started")
        timeout = REQUEST_TIMEOUT_S if timeout is None else timeout
        future = asyncio.run_coroutine_threadsafe(self._request(method, path, body), self._loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            # The request must not outlive its caller on the loop; a bare TimeoutError names nothing.
            future.cancel()
            raise WorkerUnavailable(f"ComfyUI for GPU {self.gpu_id}: {method} {path} did not answer "
                                    f"within {timeout:g} s") from None

    async def _request(self, method: str, path: str, body: Optional[dict] = None) -> Tuple[int, Any]:
        try:
            async with self._session.request(method, self.base_url + path, json=body) as response:
                raw = await response.read()
                status = response.status
        except aiohttp.ClientError as error:
            raise WorkerUnavailable(f"ComfyUI for GPU {self.gpu_id}: {method} {path} failed: "
                                    f"{type(error).__name__}: {error}") from None
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw

    def _log_failure(self, future) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.warning("GPU %d: %s", self.gpu_id, future.exception())

    async def _read_socket(self) -> None:
        url = f"{self.base_url}/ws?clientId={upstream_client_id(self.gpu_id)}"
        while True:
            try:
                if not await self._is_our_worker():
                    await asyncio.sleep(RECONNECT_DELAY_S)
                    continue
                async with self._session.ws_connect(url, heartbeat=30) as socket:
                    # Type-4 previews carry their prompt id (server.py send_image_with_metadata).
                    await socket.send_json({"type": "feature_flags",
                                            "data": {"supports_preview_metadata": True}})
                    self._connected.set()
                    self._on_state(self.gpu_id, True)
                    log.info("GPU %d: connected to its ComfyUI at %s", self.gpu_id, self.base_url)
                    async for message in socket:
                        if message.type == aiohttp.WSMsgType.TEXT:
                            self._dispatch(message.data)
                        elif message.type == aiohttp.WSMsgType.BINARY:
                            self._on_binary(self.gpu_id, message.data)
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError, WorkerUnavailable):
                pass  # not started yet, or gone: the supervisor reports exits
            finally:
                if self._connected.is_set():
                    self._connected.clear()
                    self._on_state(self.gpu_id, False)
            await asyncio.sleep(RECONNECT_DELAY_S)

    async def _is_our_worker(self) -> bool:
        if self._expected_command is None:
            return True
        status, body = await asyncio.wait_for(self._request("GET", "/system_stats"), PROBE_TIMEOUT_S)
        problem = identity_problem(body, self._expected_command) if status == 200 else f"/system_stats {status}"
        if problem is None:
            self._last_identity_problem = None
            return True
        self.identity_mismatches += 1
        if problem != self._last_identity_problem:  # once per problem, not per retry
            log.error("GPU %d: the server on %s is not this GPU's ComfyUI (%s); waiting for ours",
                      self.gpu_id, self.base_url, problem)
            self._last_identity_problem = problem
        return False

    def _dispatch(self, text: str) -> None:
        try:
            message = json.loads(text)
            event, data = message["type"], message.get("data")
        except (ValueError, KeyError, TypeError):
            log.warning("GPU %d: unreadable WebSocket message %.200r", self.gpu_id, text)
            return
        try:
            self._on_message(self.gpu_id, event, data if isinstance(data, dict) else {})
        except Exception:
            log.exception("GPU %d: relaying %s failed", self.gpu_id, event)

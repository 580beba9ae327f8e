"""ComfyUI's HTTP API as the runner uses it (server.py routes, and the multi-GPU /queue/all and
X-TARGET-GPU of multigpu/http). Thin: no decisions here."""
from __future__ import annotations

from typing import AsyncIterator, Optional, Tuple

import aiohttp

TARGET_GPU_HEADER = "X-TARGET-GPU"  # multigpu/core/target_gpu.py
CHUNK_BYTES = 1 * 2**20


class PodUnreachable(Exception):
    """The pod did not answer (connection refused, reset, timeout) or answered 5xx."""


class ComfyClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, timeout_seconds: float = 10.0):
        self._session, self.base_url = session, base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def _json(self, method: str, path: str, *, gpu: Optional[int] = None,
                    body: Optional[dict] = None) -> Tuple[int, object]:
        headers = {TARGET_GPU_HEADER: str(gpu)} if gpu is not None else {}
        try:
            async with self._session.request(method, self.base_url + path, json=body, headers=headers,
                                             timeout=self._timeout) as response:
                if response.status >= 500:
                    raise PodUnreachable(f"{method} {path} answered {response.status}")
                try:
                    return response.status, await response.json(content_type=None)
                except ValueError:
                    return response.status, None
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise PodUnreachable(f"{method} {self.base_url}{path}: {error!r}") from error

    async def queue_all(self) -> dict:
        status, body = await self._json("GET", "/queue/all")
        if status != 200 or not isinstance(body, dict):
            raise PodUnreachable(f"GET /queue/all answered {status}")
        return body

    async def metrics(self) -> Optional[str]:
        """GET /metrics as text (multigpu/http/routes.py); None when the pod has none (stock ComfyUI answers 404)."""
        try:
            async with self._session.get(self.base_url + "/metrics", timeout=self._timeout) as response:
                if response.status >= 500:
                    raise PodUnreachable(f"GET /metrics answered {response.status}")
                return await response.text() if response.status == 200 else None
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise PodUnreachable(f"GET {self.base_url}/metrics: {error!r}") from error

    async def history(self, prompt_id: str) -> dict:
        status, body = await self._json("GET", f"/history/{prompt_id}")
        return body if status == 200 and isinstance(body, dict) else {}

    async def submit(self, prompt: dict, *, prompt_id: str, client_id: str, gpu: int) -> Tuple[int, object]:
        """POST /prompt with our own prompt id (server.py accepts "prompt_id"), so the job item names the
        prompt before it exists and a runner that takes over can find it."""
        return await self._json("POST", "/prompt", gpu=gpu,
                                body={"prompt": prompt, "prompt_id": prompt_id, "client_id": client_id})

    async def interrupt(self, prompt_id: str, gpu: Optional[int]) -> None:
        """Scoped: only this prompt stops (ComfyUI's /interrupt takes a prompt_id)."""
        await self._json("POST", "/interrupt", gpu=gpu, body={"prompt_id": prompt_id})

    async def delete_pending(self, prompt_id: str, gpu: Optional[int]) -> None:
        await self._json("POST", "/queue", gpu=gpu, body={"delete": [prompt_id]})

    async def view(self, filename: str, subfolder: str, folder_type: str) -> AsyncIterator[bytes]:
        """GET /view, streamed in chunks; FileNotFoundError when the pod has no such file."""
        params = {"filename": filename, "subfolder": subfolder, "type": folder_type}
        try:
            async with self._session.get(self.base_url + "/view", params=params,
                                         timeout=aiohttp.ClientTimeout(total=None, sock_read=60)) as response:
                if response.status == 404:
                    raise FileNotFoundError(f"{subfolder}/{filename} not on the pod")
                if response.status != 200:
                    raise PodUnreachable(f"GET /view answered {response.status}")
                async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                    yield chunk
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise PodUnreachable(f"GET /view {filename}: {error!r}") from error

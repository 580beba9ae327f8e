"""Forward one request to a worker ComfyUI and stream the answer back (process mode's
non-scheduler routes: docs/process-mode-design.md 3.2). Bodies stream both ways, so an upload
of any size passes without the front holding it; hop-by-hop headers are dropped; Host passes
through for ComfyUI's origin check; the path and query go as the client encoded them."""
from __future__ import annotations

import aiohttp
from aiohttp import ClientSession, web
from multidict import CIMultiDict
from yarl import URL

# RFC 9110 section 7.6.1, plus the framing headers aiohttp sets itself. Expect: the front already
# answered the client's "100-continue" (aiohttp's default expect handler), the worker must not wait.
HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailer", "transfer-encoding", "upgrade", "content-length", "expect"}
CHUNK_BYTES = 64 * 1024


def _end_to_end(headers) -> CIMultiDict:
    # Connection may name more headers that are for this hop only (RFC 9110 7.6.1). A multidict, not
    # a dict: a header may come more than once (each Set-Cookie of an answer), and every one passes.
    named = {token.strip().lower() for value in headers.getall("Connection", []) for token in value.split(",")}
    return CIMultiDict((k, v) for k, v in headers.items() if k.lower() not in HOP_BY_HOP | named)


def upstream_url(request: web.Request, base_url: str) -> URL:
    """`base_url` plus the request's path and query still percent-encoded: the web UI names a file in
    a subfolder as one path segment (/api/userdata/workflows%2Fa.json), which a decoded path would
    split in two, and the worker's route would not match."""
    target = request.rel_url.raw_path
    if request.rel_url.raw_query_string:
        target += "?" + request.rel_url.raw_query_string
    return URL(base_url.rstrip("/") + target, encoded=True)


async def forward(request: web.Request, session: ClientSession, base_url: str) -> web.StreamResponse:
    """Send `request` (method, path, query, headers, body) to the worker at `base_url`; a worker
    that cannot be reached is answered 502 naming it."""
    data = request.content if request.body_exists else None
    headers = _end_to_end(request.headers)
    if request.content_length is not None:
        headers["Content-Length"] = str(request.content_length)
    try:
        upstream = await session.request(request.method, upstream_url(request, base_url), headers=headers,
                                         data=data, allow_redirects=False, auto_decompress=False)
    except aiohttp.ClientError as error:
        raise web.HTTPBadGateway(text=f"the GPU's ComfyUI at {base_url} did not answer: {error}")
    try:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason,
                                      headers=_end_to_end(upstream.headers))
        if upstream.content_length is not None:
            response.content_length = upstream.content_length
        await response.prepare(request)
        async for chunk in upstream.content.iter_chunked(CHUNK_BYTES):
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        upstream.release()

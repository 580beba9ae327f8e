"""POST /upload/image and /upload/mask as ComfyUI's server.py image_upload: the multipart field
`image`, optional `type` (input, temp, output), `subfolder` and `overwrite`; an existing name gets
" (1)", " (2)", ... before its extension unless overwrite is "true"."""
from __future__ import annotations

import os

from aiohttp import web


async def save_upload(request: web.Request, folders: dict) -> web.Response:
    form = await request.post()
    image = form.get("image")
    if not isinstance(image, web.FileField) or not image.filename:
        raise web.HTTPBadRequest(text="no image in the form field 'image'")
    kind = str(form.get("type") or "input")
    if kind not in folders:
        raise web.HTTPBadRequest(text=f"type must be one of {sorted(folders)}, got {kind!r}")
    subfolder = str(form.get("subfolder") or "")
    root = os.path.realpath(folders[kind])
    folder = os.path.realpath(os.path.join(root, subfolder))
    if os.path.commonpath((root, folder)) != root:
        raise web.HTTPBadRequest(text="subfolder leaves the folder")
    os.makedirs(folder, exist_ok=True)
    name = os.path.basename(image.filename)
    stem, extension = os.path.splitext(name)
    counter = 1
    while os.path.exists(os.path.join(folder, name)) and str(form.get("overwrite")).lower() != "true":
        name = f"{stem} ({counter}){extension}"
        counter += 1
    with open(os.path.join(folder, name), "wb") as handle:
        handle.write(image.file.read())
    return web.json_response({"name": name, "subfolder": subfolder, "type": kind})

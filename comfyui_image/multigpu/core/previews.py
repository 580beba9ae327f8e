"""ComfyUI's binary WebSocket frames (server.py BinaryEventTypes, send_image /
send_image_with_metadata): a big-endian uint32 event type, then
- 1 PREVIEW_IMAGE: uint32 image type (1 JPEG, 2 PNG), image bytes;
- 3 TEXT: uint32 length, node id, text;
- 4 PREVIEW_IMAGE_WITH_METADATA: uint32 length, JSON metadata (prompt_id, node_id, image_type
  "image/jpeg|png", ...), image bytes; sent to clients that said supports_preview_metadata.
Pure: bytes in, bytes out.
"""
from __future__ import annotations

import json
import struct
from typing import Optional

PREVIEW_IMAGE = 1
TEXT = 3
PREVIEW_IMAGE_WITH_METADATA = 4
_IMAGE_TYPES = {"image/jpeg": 1, "image/png": 2}


def frame_type(frame: bytes) -> Optional[int]:
    return struct.unpack(">I", frame[:4])[0] if len(frame) >= 4 else None


def preview_with_metadata(image: bytes, metadata: dict) -> bytes:
    encoded = json.dumps(metadata).encode()
    return struct.pack(">II", PREVIEW_IMAGE_WITH_METADATA, len(encoded)) + encoded + image


def metadata_of(frame: bytes) -> Optional[dict]:
    """The metadata of a type-4 frame; None for other frames or a malformed one."""
    if frame_type(frame) != PREVIEW_IMAGE_WITH_METADATA or len(frame) < 8:
        return None
    length = struct.unpack(">I", frame[4:8])[0]
    try:
        metadata = json.loads(frame[8:8 + length])
    except ValueError:
        return None
    return metadata if isinstance(metadata, dict) else None


def without_metadata(frame: bytes) -> bytes:
    """A type-4 frame as the type-1 frame a client without supports_preview_metadata expects;
    any other frame unchanged."""
    metadata = metadata_of(frame)
    if metadata is None:
        return frame
    length = struct.unpack(">I", frame[4:8])[0]
    image_type = _IMAGE_TYPES.get(str(metadata.get("image_type")), 1)
    return struct.pack(">II", PREVIEW_IMAGE, image_type) + frame[8 + length:]

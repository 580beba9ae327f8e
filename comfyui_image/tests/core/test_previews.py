"""ComfyUI's binary preview frames (core/previews.py)."""
import struct

from multigpu.core.previews import metadata_of, preview_with_metadata, without_metadata


def test_a_type_4_frame_carries_its_metadata_and_image():
    frame = preview_with_metadata(b"PNGDATA", {"prompt_id": "p", "image_type": "image/png"})
    assert struct.unpack(">I", frame[:4])[0] == 4 and frame.endswith(b"PNGDATA")
    assert metadata_of(frame) == {"prompt_id": "p", "image_type": "image/png"}


def test_a_client_without_metadata_support_gets_type_1_with_the_image_format():
    png = without_metadata(preview_with_metadata(b"PNGDATA", {"image_type": "image/png"}))
    jpeg = without_metadata(preview_with_metadata(b"JPG", {"image_type": "image/jpeg"}))
    assert png == struct.pack(">II", 1, 2) + b"PNGDATA" and jpeg == struct.pack(">II", 1, 1) + b"JPG"


def test_other_frames_pass_unchanged():
    text = struct.pack(">II", 3, 1) + b"9progress text"
    assert without_metadata(text) == text and metadata_of(text) is None

"""The ComfyUI release the adapter is written against: one place for the tag and its commit.

The Dockerfile's COMFYUI_REF / COMFYUI_COMMIT build-arg defaults must equal these
(tests/adapter/test_image_build_files.py). The commit is the tag's "ComfyUI v0.8.0" version
bump (comfyanonymous, 2026-01-07); upgrade both on purpose, then run the self-check.
"""

COMFYUI_TAG = "v0.8.0"
COMFYUI_COMMIT = "fc0cb10bcbee6e73ed3caf34c27f7bde4559a07f"

"""The ComfyUI releases the images are built from: one place for each tag and its commit.

Two pins, because the two executors trust ComfyUI differently (docs/process-mode-design.md 2.4):

- COMFYUI_TAG / COMFYUI_COMMIT: thread mode, where this adapter patches ComfyUI's process-wide state. It
  stays on v0.8.0 until the thread-mode rehearsal passes on a newer release: v0.33 reorganised exactly what
  the adapter patches (dynamic VRAM set up for every device at start, upstream multi-GPU threads, a queue
  API our replacement queue lacks), and a self-check finding every symbol is not proof enough.
- PROCESS_COMFYUI_TAG / PROCESS_COMFYUI_COMMIT: process mode, one stock, unpatched ComfyUI per GPU behind
  our front; only the worker pack's self-check and the HTTP contract bind us to it, so it can move ahead.

The Dockerfile's COMFYUI_REF / COMFYUI_COMMIT and PROCESS_COMFYUI_REF / PROCESS_COMFYUI_COMMIT build-arg
defaults must equal these (tests/adapter/test_image_build_files.py). Each commit is its tag's "ComfyUI
vX.Y.0" version bump by comfyanonymous (v0.8.0: 2026-01-07; v0.33.0: 2026-08-13); upgrade a pair on
purpose, with its requirements copy and lock (lock-requirements.sh), then run its self-check.
"""

COMFYUI_TAG = "v0.8.0"
COMFYUI_COMMIT = "fc0cb10bcbee6e73ed3caf34c27f7bde4559a07f"

PROCESS_COMFYUI_TAG = "v0.33.0"
PROCESS_COMFYUI_COMMIT = "2f35f4a08176d993cded35dac3332be4f7287f41"

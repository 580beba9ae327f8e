"""The only package that knows ComfyUI's internals (pinned in pins.py).

Nothing here imports ComfyUI or torch at import time: `install.install` registers post-import
hooks (post_import.py) that patch each ComfyUI module right after ComfyUI itself imports it, so
ComfyUI's own argument parsing and pre-torch environment setup in main.py run unchanged, and a
`from module import name` anywhere picks up the patched function. Each patch module names the
ComfyUI function it targets (file + function at the pinned tag); symbols.py lists every name we
rely on and selfcheck.py verifies them during the image build.
"""

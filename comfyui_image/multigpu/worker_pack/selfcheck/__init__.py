"""Check that a ComfyUI checkout still has what the process-mode worker node pack relies on.

    python -m multigpu.worker_pack.selfcheck --comfyui /opt/comfyui

Run at image build for the process image (__main__.py): reads ComfyUI's source and imports none of
it, so it needs no torch and no GPU; prints one line per assumption (assumptions.py) and "All
assumptions hold." (exit 0), or names each broken one (exit 1).

This folder sits in worker_pack/, which every worker takes as a custom_nodes folder
(extra_paths.yaml), so ComfyUI imports this package as a custom node too. Hence this file only
declares that it adds no nodes (without NODE_CLASS_MAPPINGS ComfyUI logs a warning); the checks
live in modules ComfyUI never imports.
"""
NODE_CLASS_MAPPINGS = {}

"""ComfyUI's utils/extra_config.py; main.py imports it before torch."""

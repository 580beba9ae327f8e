"""Scheduling core: no torch, ComfyUI or aiohttp import (tests/test_core_imports.py enforces it)."""

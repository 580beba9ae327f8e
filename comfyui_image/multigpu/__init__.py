"""Multi-GPU ComfyUI: one process, one queue and one worker thread per GPU.

Layers (each imports only the ones above it):
  core/           pure Python scheduling: queues, routing, history, metrics, retry, workers.
                  Imports neither torch, ComfyUI nor aiohttp.
  http/           the aiohttp routes and middleware over the core (the only aiohttp importers
                  besides the simulator).
  comfy_adapter/  the only package that knows ComfyUI's internals; installed by the launcher.
  sim/            a simulated executor and a stand-in for ComfyUI's intake, for tests and benchmarks.
"""

"""A valid API-format workflow for the simulator (text-to-image: checkpoint, sampler, save), shared
by the tests and the benchmark so both exercise the same intake validation."""
from __future__ import annotations


def sim_workflow(seed: int = 1, steps: int = 3, ckpt: str = "sd_xl_base_1.0.safetensors",
                 prefix: str = "ComfyUI", oom_times: int = 0, gpu_fault: bool = False,
                 crash: bool = False, hang: bool = False, wedge: bool = False) -> dict:
    prompt = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
        "3": {"class_type": "KSampler", "inputs": {
            "model": ["4", 0], "seed": seed, "steps": steps, "cfg": 7.0, "sampler_name": "euler",
            "scheduler": "normal", "positive": ["4", 1], "negative": ["4", 1],
            "latent_image": ["4", 2], "denoise": 1.0}},
        "9": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": prefix}},
    }
    if oom_times:
        prompt["2"] = {"class_type": "SimulateOOM", "inputs": {"times": oom_times}}
    if gpu_fault:
        prompt["1"] = {"class_type": "SimulateGpuFault", "inputs": {}}
    if crash:  # after the sampler, so the prompt is running (progress sent) when the process dies
        prompt["8"] = {"class_type": "SimulateCrash", "inputs": {}}
    if hang:
        prompt["8"] = {"class_type": "SimulateHang", "inputs": {}}
    if wedge:
        prompt["8"] = {"class_type": "SimulateWedge", "inputs": {}}
    return prompt

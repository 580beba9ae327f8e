"""API-format workflows that run on a CPU in seconds with nothing but stock ComfyUI nodes."""
from __future__ import annotations

VAE_NAME = "rehearsal-vae.safetensors"


def blank_image(prefix: str, color: int = 0xFF8800, size: int = 64) -> dict:
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": size, "height": size, "batch_size": 1,
                                                      "color": color}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}},
    }


def vae_decode(prefix: str) -> dict:
    """Loads a model file (load_torch_file -> the shared weights cache) and runs it."""
    return {
        "1": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "2": {"class_type": "VAELoader", "inputs": {"vae_name": VAE_NAME}},
        "3": {"class_type": "VAEDecode", "inputs": {"samples": ["1", 0], "vae": ["2", 0]}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": prefix}},
    }


def slow_blurs(prefix: str, blurs: int = 4, color: int = 1) -> dict:
    """About 1.5 s per blur on one core: long enough to interrupt between nodes."""
    prompt = {"1": {"class_type": "EmptyImage", "inputs": {"width": 1024, "height": 1024,
                                                           "batch_size": 1, "color": color}}}
    previous = "1"
    for index in range(2, 2 + blurs):
        prompt[str(index)] = {"class_type": "ImageBlur", "inputs": {"image": [previous, 0],
                                                                    "blur_radius": 31, "sigma": 5.0}}
        previous = str(index)
    prompt["99"] = {"class_type": "SaveImage", "inputs": {"images": [previous, 0], "filename_prefix": prefix}}
    return prompt


def seeded_with_model(prefix: str) -> dict:
    """For `comfyctl verify`: a `seed` input it can vary (so no prompt is answered from ComfyUI's
    cache), about 3 s of work per prompt on one core, and a model file to load (ram-sharing)."""
    prompt = slow_blurs(prefix, blurs=2)
    prompt["50"] = {"class_type": "ImageAddNoise", "inputs": {"image": ["1", 0], "seed": 0, "strength": 0.5}}
    prompt["2"]["inputs"]["image"] = ["50", 0]
    prompt.update({f"v{key}": value for key, value in vae_decode(prefix + "_vae").items()})
    prompt["v3"]["inputs"] = {"samples": ["v1", 0], "vae": ["v2", 0]}
    prompt["v4"]["inputs"]["images"] = ["v3", 0]
    return prompt

"""v0.8.0's preview-method handling: a process-wide setting in comfy.cli_args.args."""
from comfy.cli_args import LatentPreviewMethod, args

default_preview_method = args.preview_method


def get_previewer(device, latent_format):
    """Stands in for the previewer stock would build: the method it read from the global."""
    return args.preview_method


def prepare_callback(model, steps, x0_output_dict=None):
    return get_previewer(None, None)


def set_preview_method(override: str = None):
    if override and override != "default":
        method = LatentPreviewMethod.from_string(override)
        if method is not None:
            args.preview_method = method
            return
    args.preview_method = default_preview_method

import comfy.model_management
import torch


def interrupt_processing(value=True):
    comfy.model_management.interrupt_current_processing(value)


class Noop:
    def run(self, **inputs):
        comfy.model_management.throw_exception_if_processing_interrupted()
        return {}


class RaiseOOM:
    def run(self, **inputs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


class RaiseRuntimeError:
    def run(self, message="", **inputs):
        raise RuntimeError(message)


class RaiseValueError:
    def run(self, **inputs):
        raise ValueError("bad input")


def init_extra_nodes():
    """v0.8.0 loads comfy_extras and custom nodes by file path; the stub imports them."""
    from comfy_extras.nodes_images import ImageAddNoise

    NODE_CLASS_MAPPINGS["ImageAddNoise"] = ImageAddNoise


NODE_CLASS_MAPPINGS = {"Noop": Noop, "RaiseOOM": RaiseOOM, "RaiseValueError": RaiseValueError,
                       "RaiseRuntimeError": RaiseRuntimeError}

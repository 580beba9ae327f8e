import sys
import threading
import weakref

import torch


class InterruptProcessingException(Exception):
    pass


OOM_EXCEPTION = torch.cuda.OutOfMemoryError
current_loaded_models = []
interrupt_processing = False
_mutex = threading.RLock()


def get_torch_device():
    return torch.device("cuda", torch.cuda.current_device())


class LoadedModel:
    """v0.8.0's bookkeeping, less the partial loading: weak references to the ModelPatcher and to
    the torch module it loaded, and the finalizer that prunes the list when the module dies."""

    def __init__(self, model):
        self._model = weakref.ref(model)
        self.device = model.load_device
        self.real_model = None
        self.currently_used = True
        self.model_finalizer = None

    @property
    def model(self):
        return self._model()

    def model_memory(self):
        return self.model.model_size()

    def model_offloaded_memory(self):
        return self.model.model_size() - self.model.loaded_size()

    def model_load(self, lowvram_model_memory=0, force_patch_weights=False):
        real_model = self.model.model
        self.real_model = weakref.ref(real_model)
        self.model_finalizer = weakref.finalize(real_model, cleanup_models)
        return real_model

    def model_unload(self, memory_to_free=None, unpatch_weights=True):
        self.model_finalizer.detach()
        self.model_finalizer = None
        self.real_model = None
        return True

    def __eq__(self, other):
        return self.model is other.model

    def is_dead(self):
        return self.real_model() is not None and self.model is None


def load_models_gpu(models, memory_required=0, force_patch_weights=False, minimum_memory_required=None,
                    force_full_load=False):
    cleanup_models_gc()
    for model in models:
        loaded = LoadedModel(model)
        if loaded in current_loaded_models:
            continue
        loaded.model_load()
        current_loaded_models.insert(0, loaded)


def free_memory(memory_required, device, keep_loaded=[]):
    """v0.8.0's walk: by index, skipping dead entries, asking each model its size."""
    cleanup_models_gc()
    can_unload = []
    for i in range(len(current_loaded_models) - 1, -1, -1):
        shift_model = current_loaded_models[i]
        if shift_model.device == device:
            if shift_model not in keep_loaded and not shift_model.is_dead():
                can_unload.append((-shift_model.model_offloaded_memory(), sys.getrefcount(shift_model.model),
                                   shift_model.model_memory(), i))
    unloaded = []
    for x in sorted(can_unload):
        if current_loaded_models[x[-1]].model_unload():
            unloaded.append(x[-1])
    unloaded_models = [current_loaded_models.pop(i) for i in sorted(unloaded, reverse=True)]
    if unloaded_models:
        soft_empty_cache()
    return unloaded_models


def loaded_models(only_currently_used=False):
    return [m.model for m in current_loaded_models if m.currently_used or not only_currently_used]


def cleanup_models_gc():
    for cur in current_loaded_models:
        if cur.is_dead():
            import gc
            gc.collect()
            soft_empty_cache()
            break


def cleanup_models():
    to_delete = []
    for i in range(len(current_loaded_models)):
        if current_loaded_models[i].real_model() is None:
            to_delete = [i] + to_delete
    for i in to_delete:
        current_loaded_models.pop(i)


def unload_all_models():
    free_memory(1e30, get_torch_device())


def soft_empty_cache(force=False):
    torch.cuda.empty_cache()


PINNED_MEMORY = {}
TOTAL_PINNED_MEMORY = 0
MAX_PINNED_MEMORY = 1000
PINNING_ALLOWED_TYPES = set(["Parameter", "QuantizedTensor"])


def is_device_cpu(device):
    return device.type == "cpu"


def discard_cuda_async_error():
    pass


def pin_memory(tensor):
    """v0.8.0: one process-wide budget and counter, no lock."""
    global TOTAL_PINNED_MEMORY
    if MAX_PINNED_MEMORY <= 0 or type(tensor).__name__ not in PINNING_ALLOWED_TYPES:
        return False
    if not is_device_cpu(tensor.device) or tensor.is_pinned() or not tensor.is_contiguous():
        return False
    size = tensor.nbytes
    if (TOTAL_PINNED_MEMORY + size) > MAX_PINNED_MEMORY:
        return False
    ptr = tensor.data_ptr()
    if torch.cuda.cudart().cudaHostRegister(ptr, size, 1) == 0:
        PINNED_MEMORY[ptr] = size
        TOTAL_PINNED_MEMORY += size
        return True
    return False


def unpin_memory(tensor):
    global TOTAL_PINNED_MEMORY
    if MAX_PINNED_MEMORY <= 0 or not is_device_cpu(tensor.device):
        return False
    ptr = tensor.data_ptr()
    if PINNED_MEMORY.get(ptr) is None or PINNED_MEMORY[ptr] != tensor.nbytes:
        return False
    if torch.cuda.cudart().cudaHostUnregister(ptr) == 0:
        TOTAL_PINNED_MEMORY -= PINNED_MEMORY.pop(ptr)
        return True
    return False


def interrupt_current_processing(value=True):
    global interrupt_processing
    with _mutex:
        interrupt_processing = value


def processing_interrupted():
    with _mutex:
        return interrupt_processing


def throw_exception_if_processing_interrupted():
    global interrupt_processing
    with _mutex:
        if interrupt_processing:
            interrupt_processing = False
            raise InterruptProcessingException()


def get_torch_device_name(device):
    if device.type != "cuda":
        return device.type  # as v0.8.0 names the CPU
    return f"{device.type}:{device.index} Stub GPU"


def get_total_memory(dev=None, torch_total_too=False):
    total = (64 if dev.type == "cpu" else 24) * 2**30
    return (total, total - 2**30) if torch_total_too else total


def get_free_memory(dev=None, torch_free_too=False):
    free = (20 - (dev.index or 0)) * 2**30  # a different figure per GPU
    return (free, 2**29) if torch_free_too else free

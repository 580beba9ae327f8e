import threading

import torch


class InterruptProcessingException(Exception):
    pass


OOM_EXCEPTION = torch.cuda.OutOfMemoryError
current_loaded_models = []
interrupt_processing = False
_mutex = threading.RLock()


def get_torch_device():
    return torch.device("cuda", torch.cuda.current_device())


def free_memory(memory_required, device, keep_loaded=[]):
    unloaded = []
    for i in range(len(current_loaded_models) - 1, -1, -1):
        if current_loaded_models[i].device == device and current_loaded_models[i] not in keep_loaded:
            unloaded.append(current_loaded_models.pop(i))
    if unloaded:
        soft_empty_cache()
    return unloaded


def unload_all_models():
    free_memory(1e30, get_torch_device())


def soft_empty_cache(force=False):
    torch.cuda.empty_cache()


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

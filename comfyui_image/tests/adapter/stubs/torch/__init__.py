"""A tiny fake torch: only what the adapter and the stubs call."""
import contextlib
import threading

float16 = "float16"
float32 = "float32"


class device:
    def __init__(self, type, index=None):
        if isinstance(type, int):
            type, index = "cuda", type
        self.type, self.index = type, index

    def __eq__(self, other):
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __repr__(self):
        return f"device(type={self.type!r}, index={self.index!r})"


class Generator:
    def __init__(self, device="cpu"):
        self.device = device
        self.seed = None

    def manual_seed(self, seed):
        self.seed = seed
        return self


default_generator = Generator()
manual_seed_calls = []


def manual_seed(seed):
    manual_seed_calls.append(seed)
    return default_generator.manual_seed(seed)


class FakeTensor:
    def __init__(self, device=None, generator=None):
        self.device, self.generator = device, generator

    def __matmul__(self, other):
        return FakeTensor(self.device)

    @property
    def T(self):
        return self

    def all(self):
        return self

    def item(self):
        return True


def randn(*size, generator=None, device=None, dtype=None, **_):
    return FakeTensor(device, generator)


def isfinite(tensor):
    return FakeTensor(tensor.device)


@contextlib.contextmanager
def inference_mode():
    yield


class _Functional:
    @staticmethod
    def conv2d(image, kernel, padding=0):
        return FakeTensor(image.device)


class nn:
    functional = _Functional


class _CudaRuntime:
    """cudaHostRegister/cudaHostUnregister: which host ranges are page-locked."""

    def __init__(self):
        self.registered = {}
        self.calls = []

    def cudaHostRegister(self, ptr, size, flags):
        self.calls.append(("register", ptr))
        if ptr in self.registered:
            return 712  # cudaErrorHostMemoryAlreadyRegistered
        self.registered[ptr] = size
        return 0

    def cudaHostUnregister(self, ptr):
        self.calls.append(("unregister", ptr))
        return 0 if self.registered.pop(ptr, None) is not None else 713


class Parameter:
    """A CPU weight: what ModelPatcher pins."""

    def __init__(self, ptr, nbytes):
        self.device = device("cpu")
        self._ptr, self.nbytes = ptr, nbytes

    def data_ptr(self):
        return self._ptr

    def is_contiguous(self):
        return True

    def is_pinned(self):
        return self._ptr in cuda.cudart().registered


class _Cuda:
    class OutOfMemoryError(RuntimeError):
        pass

    def __init__(self):
        self._current = threading.local()
        self.seeded = []
        self.empty_cache_calls = 0
        self.synchronized = []
        self._runtime = _CudaRuntime()

    def cudart(self):
        return self._runtime

    def set_device(self, index):
        self._current.index = index

    def current_device(self):
        return getattr(self._current, "index", 0)

    def is_available(self):
        return True

    def is_initialized(self):
        return True

    def manual_seed(self, seed):
        self.seeded.append((self.current_device(), seed))

    def empty_cache(self):
        self.empty_cache_calls += 1

    def synchronize(self, device=None):
        self.synchronized.append(device)


cuda = _Cuda()
OutOfMemoryError = cuda.OutOfMemoryError

"""onnxruntime's InferenceSession signature (1.x); records what it was given."""


class InferenceSession:
    def __init__(self, path_or_bytes, sess_options=None, providers=None, provider_options=None, **kwargs):
        if provider_options and providers and any(isinstance(p, tuple) for p in providers):
            raise ValueError("'provider_options' cannot be used when 'providers' has tuples")
        self.path, self.providers, self.provider_options = path_or_bytes, providers, provider_options

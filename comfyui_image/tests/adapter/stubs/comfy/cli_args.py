import argparse
import enum


class LatentPreviewMethod(enum.Enum):
    NoPreviews = "none"
    Auto = "auto"
    Latent2RGB = "latent2rgb"
    TAESD = "taesd"

    @classmethod
    def from_string(cls, value: str):
        for member in cls:
            if member.value == value:
                return member
        return None


args = argparse.Namespace(cache_lru=0, cache_ram=0, cache_none=False, cpu=False,
                          preview_method=LatentPreviewMethod.NoPreviews)

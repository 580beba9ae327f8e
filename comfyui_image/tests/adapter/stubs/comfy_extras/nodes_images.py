import torch


class ImageAddNoise:
    @classmethod
    def execute(cls, image, seed, strength):
        generator = torch.manual_seed(seed)
        return torch.randn(image, generator=generator, device="cpu")

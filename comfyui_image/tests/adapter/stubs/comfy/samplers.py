import torch


class KSAMPLER:
    def __init__(self, inpaint_options={}):
        self.inpaint_options = inpaint_options

    def inpaint_noise(self, shape, extra_args):
        """v0.8.0 KSAMPLER.sample's inpaint "random" draw."""
        if self.inpaint_options.get("random", False):
            generator = torch.manual_seed(extra_args.get("seed", 41) + 1)
            return torch.randn(shape, generator=generator, device="cpu")
        return None

    def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
               disable_pbar=False):
        return self.inpaint_noise(noise, extra_args)

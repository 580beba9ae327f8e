import torch


class AbstractLowScaleModel:
    def q_sample(self, x_start, t, noise=None, seed=None):
        return torch.randn(x_start, generator=torch.manual_seed(seed))

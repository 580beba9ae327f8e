"""Every v0.8.0 call site that seeds with torch.manual_seed draws from a private generator, so a
seed gives the same noise on any GPU whatever its neighbours seed (issue 22 item 9)."""
import pytest

from multigpu.comfy_adapter.install import install


@pytest.fixture
def installed(comfy_stubs):
    installation = install(comfy_stubs, 2, weights_cache_bytes=0, warmup_timeout_s=10,
                           install_routes=lambda app, pool: None)
    try:
        yield installation
    finally:
        installation.uninstall()
        installation.pool.stop()


def assert_private(draw, seed, torch):
    assert draw.generator is not torch.default_generator
    assert draw.generator.seed == seed
    assert torch.manual_seed_calls == []  # the process-wide generator (and every GPU's) left alone


def test_inpaint_random_noise_uses_a_private_generator(installed):
    import comfy.samplers
    import torch

    sampler = comfy.samplers.KSAMPLER(inpaint_options={"random": True})
    torch.cuda.set_device(1)
    draw = sampler.sample(None, None, {"seed": 9}, None, (1, 4, 8, 8))
    assert_private(draw, 10, torch)
    assert torch.cuda.seeded == [(1, 10)]  # only this thread's GPU


def test_upscaler_noise_uses_a_private_generator(installed):
    from comfy.ldm.modules.diffusionmodules.upscaling import AbstractLowScaleModel
    import torch

    assert_private(AbstractLowScaleModel().q_sample((1, 4), 0, seed=5), 5, torch)


def test_image_add_noise_is_patched_once_the_nodes_loaded(installed):
    import nodes
    import server
    import torch

    prompt_server = server.PromptServer(loop=None)
    nodes.init_extra_nodes()  # main.py loads the nodes before add_routes
    prompt_server.add_routes()
    assert installed.pool.wait_until_warm(5)
    draw = nodes.NODE_CLASS_MAPPINGS["ImageAddNoise"].execute((1, 8, 8, 3), seed=3, strength=0.5)
    assert_private(draw, 3, torch)


def test_a_missing_node_is_reported_not_fatal(comfy_stubs, caplog):
    import nodes
    from multigpu.comfy_adapter.seeding import patch_node_module

    assert patch_node_module(nodes, "ImageAddNoise") is None
    assert "ImageAddNoise not found" in caplog.text

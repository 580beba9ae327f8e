"""latent_preview.set_preview_method per GPU worker (issue 22 item 10)."""
import threading

from multigpu.comfy_adapter.preview_method import patch_preview_method
from multigpu.comfy_adapter.worker_binding import bind_current_thread


def test_each_worker_previews_with_its_own_prompts_method(comfy_stubs):
    import latent_preview
    from comfy.cli_args import LatentPreviewMethod, args

    patch_preview_method(latent_preview)
    both_set = threading.Barrier(2)
    seen = {}

    def worker(gpu, method):
        bind_current_thread(gpu)
        latent_preview.set_preview_method(method)  # what execute_async does as the prompt starts
        both_set.wait()  # both prompts have set theirs before either sampler starts
        seen[gpu] = latent_preview.prepare_callback(model=None, steps=20)

    threads = [threading.Thread(target=worker, args=(0, "taesd")),
               threading.Thread(target=worker, args=(1, "none"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {0: LatentPreviewMethod.TAESD, 1: LatentPreviewMethod.NoPreviews}
    assert args.preview_method == LatentPreviewMethod.NoPreviews  # the server's default is untouched


def test_default_goes_back_to_the_servers_setting_and_other_threads_get_stock_behaviour(comfy_stubs):
    import latent_preview
    from comfy.cli_args import LatentPreviewMethod, args

    patch_preview_method(latent_preview)
    results = []

    def worker():
        bind_current_thread(0)
        latent_preview.set_preview_method("latent2rgb")
        results.append(latent_preview.get_previewer(None, None))
        latent_preview.set_preview_method("default")
        results.append(latent_preview.get_previewer(None, None))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert results == [LatentPreviewMethod.Latent2RGB, LatentPreviewMethod.NoPreviews]
    latent_preview.set_preview_method("auto")  # an unbound thread: the stock global
    assert args.preview_method == LatentPreviewMethod.Auto


def test_execution_binds_the_per_gpu_function_when_it_imports_it_by_name(comfy_stubs):
    # v0.8.0's execution.py does `from latent_preview import set_preview_method`: the patch
    # must be in place before that import returns, which the post-import hook guarantees.
    from multigpu.comfy_adapter.post_import import PostImportHooks

    hooks = PostImportHooks()
    hooks.when_imported("latent_preview", patch_preview_method)
    hooks.install()
    try:
        import execution
    finally:
        hooks.uninstall()
    assert execution.set_preview_method._multigpu_original

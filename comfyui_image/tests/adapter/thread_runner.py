"""Run a function on a fresh thread (as a GPU worker would) and hand back its result or error."""
import threading


def run_in_thread(function):
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as error:  # re-raised on the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def run_on_gpu(gpu, function):
    """Run `function` on a new thread bound to `gpu`, as a GPU worker's thread is."""
    from multigpu.comfy_adapter.worker_binding import bind_current_thread

    def bound():
        bind_current_thread(gpu)
        return function()

    return run_in_thread(bound)

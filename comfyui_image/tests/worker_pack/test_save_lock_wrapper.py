"""The node pack's wrapper of `folder_paths.get_save_image_path` (worker_pack/multigpu_worker/save_lock.py)
against a fake folder_paths and a loopback HTTP server standing in for the front; no ComfyUI: the
module is loaded from its file, without the pack's __init__ (which imports ComfyUI)."""
import importlib.util
import inspect
import json
import logging
import os
import pathlib
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from multigpu import process_plan
from multigpu.front.save_lock_routes import SAVE_LOCK_PATH

PACK = pathlib.Path(__file__).resolve().parents[2] / "multigpu" / "worker_pack" / "multigpu_worker"


def load_save_lock():
    spec = importlib.util.spec_from_file_location("multigpu_worker_save_lock", PACK / "save_lock.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


save_lock = load_save_lock()


class FakeFolderPaths:
    """Records what the front had been asked when the stock function listed the folder."""

    def __init__(self, asked):
        self.asked = asked
        self.listed_after = []

        def get_save_image_path(filename_prefix, output_dir, image_width=0, image_height=0):
            self.listed_after.append(len(self.asked))
            return os.path.join(output_dir, "sub"), filename_prefix, 7, "sub", filename_prefix

        self.get_save_image_path = get_save_image_path


@pytest.fixture
def front():
    """A fake front: answers POST /multigpu/save-lock with `status` and records the bodies."""
    state = SimpleNamespace(asked=[], status=200)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.asked.append((self.path, body))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def wrapped(url, asked, node=("p1", "9")):
    folder_paths = FakeFolderPaths(asked)
    assert save_lock.wrap_save_image_path(folder_paths, save_lock.SaveLockClient(url, gpu=1, wait_s=30),
                                          lambda: node)
    return folder_paths


def test_the_lock_is_asked_for_before_the_stock_listing_and_the_result_is_unchanged(front):
    folder_paths = wrapped(front.url, front.asked)
    result = folder_paths.get_save_image_path("race", "out", 64, 64)
    assert result == (os.path.join("out", "sub"), "race", 7, "sub", "race")
    assert folder_paths.listed_after == [1]
    assert front.asked == [("/multigpu/save-lock", {"gpu": 1, "folder": os.path.abspath("out"), "prefix": "race",
                                                     "prompt_id": "p1", "node": "9"})]


def test_with_the_front_down_the_save_goes_ahead_the_stock_way_with_a_warning(caplog):
    folder_paths = wrapped(closed_port_url(), [])
    with caplog.at_level(logging.WARNING, logger="multigpu.worker"):
        result = folder_paths.get_save_image_path(filename_prefix="race", output_dir="/out")
    assert result == ("/out/sub", "race", 7, "sub", "race")
    assert "GPU 1: no save lock on 'race' from the front at http://127.0.0.1:" in caplog.text
    assert "saving without it" in caplog.text


def test_a_refusal_from_the_front_falls_back_to_the_stock_way_too(front, caplog):
    front.status = 409
    folder_paths = wrapped(front.url, front.asked)
    with caplog.at_level(logging.WARNING, logger="multigpu.worker"):
        assert folder_paths.get_save_image_path("race", "/out")[2] == 7
    assert "HTTP Error 409" in caplog.text


def test_the_wrapper_keeps_the_stock_parameters_and_wraps_only_once(front):
    folder_paths = FakeFolderPaths([])
    stock = folder_paths.get_save_image_path
    client = save_lock.SaveLockClient(front.url, gpu=0)
    assert save_lock.wrap_save_image_path(folder_paths, client, lambda: (None, None))
    first = folder_paths.get_save_image_path
    assert not save_lock.wrap_save_image_path(folder_paths, client, lambda: (None, None))
    assert folder_paths.get_save_image_path is first
    assert inspect.signature(first) == inspect.signature(stock)


def test_the_environment_turns_it_on_names_the_front_and_the_gpu_or_turns_it_off(caplog):
    env = {"COMFY_FRONT_URL": "http://127.0.0.1:8188/", "COMFY_WORKER_GPU": "3"}
    assert save_lock.client_from_env(env) == save_lock.SaveLockClient("http://127.0.0.1:8188", 3)
    assert save_lock.client_from_env(dict(env, COMFY_WORKER_SAVE_LOCK="0")) is None
    with caplog.at_level(logging.WARNING, logger="multigpu.worker"):
        assert save_lock.client_from_env({}) is None
    assert "COMFY_FRONT_URL and COMFY_WORKER_GPU are not set" in caplog.text


def test_the_variable_names_and_the_path_are_the_ones_the_launcher_and_the_front_use():
    assert save_lock.SAVE_LOCK_PATH == SAVE_LOCK_PATH
    assert (save_lock.FRONT_URL_ENV, save_lock.WORKER_GPU_ENV) == (process_plan.FRONT_URL_ENV,
                                                                   process_plan.WORKER_GPU_ENV)

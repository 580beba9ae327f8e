"""Only read by the self-check's source checks; never imported by the tests."""
import threading

import server


def prompt_worker(q, server_instance):
    while True:
        q.get(timeout=1000.0)
        q.get_flags()


async def run(server_instance, address="", port=8188, verbose=True, call_on_start=None):
    await server_instance.start_multi_address([(address, port)], call_on_start, verbose)


def start_comfyui(asyncio_loop=None):
    prompt_server = server.PromptServer(asyncio_loop)
    prompt_server.add_routes()
    threading.Thread(target=prompt_worker, daemon=True, args=(prompt_server.prompt_queue, prompt_server)).start()

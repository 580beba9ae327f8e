"""`python -m multigpu.worker_pack.selfcheck` (the process image's build step) against small fake
ComfyUI trees: the stock shapes pass; a renamed parameter or a missing method fails naming it."""
import ast
import pathlib
import subprocess
import sys
import textwrap

IMAGE_DIR = pathlib.Path(__file__).resolve().parents[2]
WORKER_PACK = IMAGE_DIR / "multigpu" / "worker_pack"

STOCK = {
    "folder_paths.py": """
        def get_save_image_path(filename_prefix: str, output_dir: str, image_width=0, image_height=0):
            return output_dir, filename_prefix, 1, "", filename_prefix
    """,
    "nodes.py": """
        import folder_paths
        class SaveImage:
            def save_images(self, images, filename_prefix="ComfyUI"):
                return folder_paths.get_save_image_path(filename_prefix, self.output_dir)
    """,
    "comfy_execution/utils.py": """
        from typing import NamedTuple, Optional
        class ExecutionContext(NamedTuple):
            prompt_id: str
            node_id: str
            list_index: Optional[int]
        def get_executing_context():
            return None
    """,
    "execution.py": """
        async def validate_prompt(prompt_id, prompt, partial_execution_list):
            return (True, None, [], {})
    """,
    "server.py": """
        class PromptServer():
            def __init__(self, loop):
                PromptServer.instance = self
                self.routes = object()
            def trigger_on_prompt(self, json_data):
                return json_data
    """,
}


def comfyui_tree(tmp_path, **changes):
    for name, source in dict(STOCK, **changes).items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return tmp_path


def selfcheck(comfyui_dir):
    done = subprocess.run([sys.executable, "-m", "multigpu.worker_pack.selfcheck", "--comfyui", str(comfyui_dir)],
                          cwd=IMAGE_DIR, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout + done.stderr


def test_a_stock_shaped_tree_holds_and_the_v033_node_replacements_are_optional(tmp_path):
    code, output = selfcheck(comfyui_tree(tmp_path))
    assert code == 0, output
    assert output.rstrip().endswith("All assumptions hold.")
    assert "ok    server.py:PromptServer.trigger_on_prompt(self, json_data)" in output
    assert "n/a   server.py:PromptServer.node_replace_manager" in output


def test_a_renamed_parameter_and_a_missing_method_fail_naming_each(tmp_path):
    tree = comfyui_tree(tmp_path, **{
        "folder_paths.py": "def get_save_image_path(prefix, output_dir, image_width=0, image_height=0): pass\n",
        "server.py": "class PromptServer():\n    def __init__(self):\n        PromptServer.instance = self\n",
    })
    code, output = selfcheck(tree)
    assert code == 1, output
    assert "folder_paths.py:get_save_image_path parameters are (prefix, output_dir, image_width, image_height)" in output
    assert "server.py: class PromptServer has no trigger_on_prompt" in output
    assert "server.py: class PromptServer has no routes" in output
    assert "3 broken assumption(s)" in output and "All assumptions hold." not in output


def test_a_save_node_that_stops_calling_the_wrapped_function_fails(tmp_path):
    tree = comfyui_tree(tmp_path, **{"nodes.py": "class SaveImage:\n    def save_images(self, images): pass\n"})
    code, output = selfcheck(tree)
    assert code == 1 and "nodes.py:SaveImage.save_images no longer calls get_save_image_path" in output


def imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield "." * node.level + (node.module or "").split(".")[0]


def test_what_comfyui_imports_from_the_worker_pack_folder_needs_nothing_but_the_standard_library():
    # Every worker takes worker_pack/ as a custom_nodes folder: it imports selfcheck/__init__.py
    # (which must import nothing) and the pack, whose save-lock wrapper is stdlib only.
    assert list(imported_modules(WORKER_PACK / "selfcheck" / "__init__.py")) == []
    imported = set(imported_modules(WORKER_PACK / "multigpu_worker" / "save_lock.py"))
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)
    assert sorted(p.name for p in WORKER_PACK.iterdir() if p.name != "__pycache__") == [
        "extra_paths.yaml", "multigpu_worker", "selfcheck"]

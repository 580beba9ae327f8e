"""The front recognises its own worker by the arguments it started it with (core/worker_identity.py)."""
from multigpu.core.worker_identity import identity_problem

COMMAND = ["/usr/bin/python3", "/opt/comfyui/main.py", "--listen", "127.0.0.1", "--port", "18189",
           "--temp-directory", "/tmp/comfyui/gpu1"]


def stats(argv):
    return {"system": {"os": "posix", "argv": argv}, "devices": []}


def test_the_worker_started_with_the_command_is_ours():
    assert identity_problem(stats(["/opt/comfyui/main.py", *COMMAND[2:]]), COMMAND) is None


def test_a_module_run_with_dash_m_is_recognised_by_its_arguments():
    command = ["/venv/bin/python", "-m", "multigpu.sim", "--as-worker", "--port", "20000"]
    assert identity_problem(stats(["/src/multigpu/sim/__main__.py", "--as-worker", "--port", "20000"]),
                            command) is None


def test_another_server_on_the_same_port_is_not_ours_and_the_problem_shows_both_commands():
    other = ["/opt/comfyui/main.py", "--listen", "127.0.0.1", "--port", "18189", "--temp-directory",
             "/tmp/other-rehearsal/gpu1"]
    problem = identity_problem(stats(other), COMMAND)
    assert problem is not None and "/tmp/other-rehearsal/gpu1" in problem and "/tmp/comfyui/gpu1" in problem


def test_an_answer_without_argv_or_with_more_arguments_than_the_command_is_not_ours():
    assert "no system.argv" in identity_problem({"system": {}}, COMMAND)
    assert "no system.argv" in identity_problem("not json", COMMAND)
    assert identity_problem(stats(["x", *COMMAND]), COMMAND) is not None

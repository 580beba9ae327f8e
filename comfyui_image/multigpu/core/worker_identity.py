"""Is the server answering on a worker's port the ComfyUI the front started there? (process mode)

A worker port can be answered by something else: a process left over in the pod, or another
launcher on the same loopback (two CPU rehearsals on one machine did exactly that: the front
relayed prompts into the other one's ComfyUI before its own worker failed to bind). Stock
ComfyUI reports its `sys.argv` in `GET /system_stats` (server.py, v0.8.0 and v0.33.0), and the
front knows the command it started, whose arguments name the worker's own port, temp folder and
database: the server is ours when its argv ends with exactly those arguments.
Pure: no I/O.
"""
from __future__ import annotations

from typing import Optional, Sequence


def identity_problem(system_stats: object, command: Sequence[str]) -> Optional[str]:
    """None when `system_stats` comes from the process started with `command` (interpreter,
    script or -m module, then its arguments), else what differs."""
    system = system_stats.get("system") if isinstance(system_stats, dict) else None
    argv = system.get("argv") if isinstance(system, dict) else None
    if not isinstance(argv, list) or not argv:
        return "its /system_stats has no system.argv"
    # sys.argv is the script (or the -m module's file) then the arguments; the command has the
    # interpreter (and "-m module") in front, so compare the arguments after argv[0].
    arguments = [str(a) for a in argv[1:]]
    if len(arguments) < len(command) and list(command[len(command) - len(arguments):]) == arguments:
        return None
    return f"it was started with {' '.join(arguments)[:300]!r}, not {' '.join(command)[:300]!r}"

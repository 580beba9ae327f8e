"""python -m multigpu.sim --gpus 4 --port 8188 --exec-ms 200 [--executor thread|process]

Listens on 127.0.0.1 unless --host says otherwise. For tests, benchmarks and client development.
--executor process runs the process-mode front over one simulated stock ComfyUI per GPU;
--as-worker runs one such stock worker (what the front starts).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from aiohttp import web

from ..core.prompt_ids import RULES
from ..core.settings import PoolSettings
from .app import SimOptions, build_sim_app


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m multigpu.sim", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpus", type=int, default=4, help="simulated GPUs (default 4)")
    parser.add_argument("--port", type=int, default=8188)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--exec-ms", type=float, default=200.0, help="execution time per prompt")
    parser.add_argument("--load-ms", type=float, default=500.0,
                        help="model load time when a GPU switches checkpoints")
    parser.add_argument("--warmup-ms", type=float, default=50.0)
    parser.add_argument("--output-dir", default="sim-output")
    parser.add_argument("--weights-cache-gib", type=float, default=64.0,
                        help="shared weights cache budget, as COMFY_WEIGHTS_CACHE_GIB (0 = off)")
    parser.add_argument("--breaker-probe-s", type=float, default=30.0,
                        help="seconds before an out-of-service GPU is probed, as COMFY_GPU_BREAKER_PROBE_S")
    parser.add_argument("--session-activity-s", type=float, default=300.0,
                        help="seconds a browser session's last connect or prompt counts as recent, as "
                             "COMFY_SESSION_ACTIVITY_S")
    parser.add_argument("--executor", choices=("thread", "process"), default="thread",
                        help="as COMFY_MULTI_GPU_EXECUTOR: one process, or a front over one stock worker per GPU")
    parser.add_argument("--worker-ports", default="",
                        help="process mode: comma-separated loopback ports of the workers (default: free ones)")
    parser.add_argument("--as-worker", action="store_true", help="run one simulated stock ComfyUI")
    parser.add_argument("--input-dir", default="", help="default: <output-dir>/../sim-input")
    parser.add_argument("--temp-dir", default="", help="default: <output-dir>/../sim-temp")
    parser.add_argument("--prompt-id-rule", choices=RULES, default="uuid",
                        help="client prompt ids a stock worker (and the front) accept: uuid (v0.33) or any (v0.8)")
    parser.add_argument("--previews", type=int, default=0,
                        help="binary preview frames per prompt (the first N sampler steps)")
    parser.add_argument("--worker-stall-s", type=float, default=0.0,
                        help="process mode, as COMFY_WORKER_STALL_S: silence before a running prompt is "
                             "interrupted (0 = never, the simulator's default)")
    parser.add_argument("--worker-stall-grace-s", type=float, default=60.0,
                        help="process mode: seconds after that interrupt before the worker is killed")
    parser.add_argument("--worker-liveness-s", type=float, default=10.0,
                        help="process mode: seconds between liveness checks of each worker (3 misses: killed)")
    return parser.parse_args(argv)


def _folder(explicit: str, output_dir: str, name: str) -> str:
    return explicit or os.path.join(os.path.dirname(os.path.abspath(output_dir)), name)


def build_app(args) -> "tuple[web.Application, str]":
    """The application and what it is, for the start-up line; ValueError names a bad flag."""
    input_dir = _folder(args.input_dir, args.output_dir, "sim-input")
    temp_dir = _folder(args.temp_dir, args.output_dir, "sim-temp")
    if args.as_worker:
        from .stock_worker import StockWorkerOptions, build_stock_worker_app
        options = StockWorkerOptions(output_dir=os.path.abspath(args.output_dir), input_dir=input_dir,
                                     temp_dir=temp_dir, exec_ms=args.exec_ms, load_ms=args.load_ms,
                                     prompt_id_rule=args.prompt_id_rule, previews=args.previews)
        return build_stock_worker_app(options), "simulated stock ComfyUI worker"
    options = SimOptions(gpus=args.gpus, exec_ms=args.exec_ms, load_ms=args.load_ms,
                         warmup_ms=args.warmup_ms, output_dir=args.output_dir,
                         weights_cache_gib=args.weights_cache_gib,
                         breaker_probe_s=args.breaker_probe_s,
                         session_activity_s=args.session_activity_s, previews=args.previews)
    if args.executor == "thread":
        return build_sim_app(options)[0], f"multigpu simulator: {options.gpus} GPUs"
    from .process_mode import build_sim_front, free_ports
    try:
        ports = ([int(p) for p in args.worker_ports.split(",")] if args.worker_ports
                 else free_ports(options.gpus))
    except ValueError:
        raise ValueError(f"--worker-ports must be comma-separated port numbers, got {args.worker_ports!r}") from None
    os.makedirs(options.output_dir, exist_ok=True)
    settings = PoolSettings(affinity_slack=options.affinity_slack,
                            breaker_probe_seconds=options.breaker_probe_s,
                            breaker_probe_max_seconds=max(600.0, options.breaker_probe_s),
                            session_activity_seconds=options.session_activity_s)
    app = build_sim_front(gpus=options.gpus, ports=ports, output_dir=os.path.abspath(options.output_dir),
                          input_dir=input_dir, temp_root=temp_dir, exec_ms=options.exec_ms,
                          load_ms=options.load_ms, settings=settings, prompt_id_rule=args.prompt_id_rule,
                          previews=args.previews, stall_s=args.worker_stall_s,
                          stall_grace_s=args.worker_stall_grace_s, liveness_s=args.worker_liveness_s)
    return app, f"multigpu simulator, process mode: {options.gpus} stock workers on ports {ports}"


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app, what = build_app(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{what} on http://{args.host}:{args.port}", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())

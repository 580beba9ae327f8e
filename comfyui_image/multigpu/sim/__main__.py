"""python -m multigpu.sim --gpus 4 --port 8188 --exec-ms 200

Listens on 127.0.0.1 unless --host says otherwise. For tests, benchmarks and client development.
"""
from __future__ import annotations

import argparse
import logging
import sys

from aiohttp import web

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
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        options = SimOptions(gpus=args.gpus, exec_ms=args.exec_ms, load_ms=args.load_ms,
                             warmup_ms=args.warmup_ms, output_dir=args.output_dir,
                             weights_cache_gib=args.weights_cache_gib,
                             breaker_probe_s=args.breaker_probe_s,
                             session_activity_s=args.session_activity_s)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app, _, _ = build_sim_app(options)
    print(f"multigpu simulator: {options.gpus} GPUs on http://{args.host}:{args.port}", flush=True)
    web.run_app(app, host=args.host, port=args.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The jobs contract (comfyui_image/jobs_contract.json): the names the runner shares with the jobs API,
read once. The TypeScript side reads the same file through lib/jobs/contract.ts."""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from typing import Tuple

# Beside the package in the source tree, and in the image (job-runner.Dockerfile copies it there).
CONTRACT_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "jobs_contract.json")


@dataclass(frozen=True)
class Statuses:
    pending: str
    in_progress: str
    completed: str
    failed: str
    cancelled: str


@dataclass(frozen=True)
class JobsContract:
    status: Statuses
    terminal_statuses: Tuple[str, ...]
    partition_key: str
    job_key_prefix: str
    job_id_field: str
    outputs_key_prefix: str
    local_output_subfolder: str
    visibility_timeout_seconds: float
    lease_seconds: float
    heartbeat_seconds: float
    progress_min_interval_seconds: float

    def job_key(self, job_id: str) -> str:
        return self.job_key_prefix + job_id


@functools.lru_cache(maxsize=None)
def load_contract(path: str = CONTRACT_PATH) -> JobsContract:
    try:
        with open(path) as handle:
            raw = json.load(handle)
        runner = raw["runner"]
        return JobsContract(
            status=Statuses(**{"pending": raw["status"]["pending"],
                               "in_progress": raw["status"]["inProgress"],
                               "completed": raw["status"]["completed"],
                               "failed": raw["status"]["failed"],
                               "cancelled": raw["status"]["cancelled"]}),
            terminal_statuses=tuple(raw["terminalStatuses"]),
            partition_key=raw["table"]["partitionKey"],
            job_key_prefix=raw["table"]["jobKeyPrefix"],
            job_id_field=raw["queueMessage"]["jobIdField"],
            outputs_key_prefix=raw["outputsKeyPrefix"],
            local_output_subfolder=raw["localOutputSubfolder"],
            visibility_timeout_seconds=float(runner["visibilityTimeoutSeconds"]),
            lease_seconds=float(runner["leaseSeconds"]),
            heartbeat_seconds=float(runner["heartbeatSeconds"]),
            progress_min_interval_seconds=float(runner["progressMinIntervalSeconds"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise RuntimeError(f"cannot read the jobs contract {path}: {error!r}; the image must copy "
                           "comfyui_image/jobs_contract.json beside the job_runner package") from error

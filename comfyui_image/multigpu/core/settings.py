"""Scheduler settings: keyword arguments with defaults, validated at construction. The launcher
(launch_settings.py) fills them from the image's environment, naming the variable in every error."""
from __future__ import annotations

from dataclasses import dataclass


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class PoolSettings:
    # Seconds assumed for a GPU's execution time before it has run anything.
    initial_exec_seconds: float = 10.0
    # Weight of the newest run in the execution-time moving average.
    exec_ewma_alpha: float = 0.3
    # Prefer a GPU with the prompt's models loaded if it costs less than this many executions.
    affinity_slack: float = 1.0
    # Metrics log line every N prompts or every interval, per GPU.
    log_every_prompts: int = 10
    log_interval_seconds: float = 60.0
    # /readyz answers 503 while more prompts than this wait (0 = no limit).
    max_queue_depth: int = 0
    # OOM retries on the same GPU before the failure is reported.
    oom_retries: int = 1
    # Consecutive GPU faults (core/faults.py) that take a GPU out of service (0 = never).
    breaker_threshold: int = 3
    # Seconds before an out-of-service GPU's first probe; doubled per failed probe up to the max.
    breaker_probe_seconds: float = 30.0
    breaker_probe_max_seconds: float = 600.0
    # Seconds a browser session's last connect or prompt counts as recent (core/sessions.py).
    session_activity_seconds: float = 300.0

    def __post_init__(self) -> None:
        checks = [
            (self.initial_exec_seconds > 0, "initial_exec_seconds must be > 0"),
            (0 < self.exec_ewma_alpha <= 1, "exec_ewma_alpha must be in (0, 1]"),
            (self.affinity_slack >= 0, "affinity_slack must be >= 0"),
            (self.log_every_prompts >= 1, "log_every_prompts must be >= 1"),
            (self.log_interval_seconds > 0, "log_interval_seconds must be > 0"),
            (self.max_queue_depth >= 0, "max_queue_depth must be >= 0"),
            (self.oom_retries >= 0, "oom_retries must be >= 0"),
            (self.breaker_threshold >= 0, "breaker_threshold must be >= 0"),
            (self.breaker_probe_seconds > 0, "breaker_probe_seconds must be > 0"),
            (self.breaker_probe_max_seconds >= self.breaker_probe_seconds,
             "breaker_probe_max_seconds must be >= breaker_probe_seconds"),
            (self.session_activity_seconds > 0, "session_activity_seconds must be > 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise SettingsError(message)

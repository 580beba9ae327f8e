"""The runner's environment: defaults from the contract, and errors that name the variable."""
import pytest

from job_runner.contract import load_contract
from job_runner.settings import SettingsError, parse_settings

C = load_contract()
BASE = {"JOBS_QUEUE_URL": "https://sqs/q", "JOBS_TABLE_NAME": "t", "OUTPUTS_BUCKET_NAME": "b",
        "AWS_REGION": "eu-west-1"}


def test_defaults_come_from_the_contract_and_the_interface():
    settings = parse_settings(BASE, C)
    assert (settings.visibility_timeout_seconds, settings.lease_seconds, settings.heartbeat_seconds) == (
        C.visibility_timeout_seconds, C.lease_seconds, C.heartbeat_seconds)
    assert (settings.namespace, settings.pod_selector, settings.pod_port, settings.health_port) == (
        "comfyui", "app.kubernetes.io/name=comfyui", 8188, 8080)
    assert settings.static_pods is None
    assert (settings.session_activity_seconds, settings.scaling_refresh_seconds, settings.scaling_stale_seconds,
            settings.deletion_cost_idle_seconds) == (300.0, 5.0, 30.0, 60.0)
    assert parse_settings(dict(BASE, SESSION_ACTIVITY_SECONDS="420"), C).session_activity_seconds == 420.0


def test_comfyui_pods_replaces_discovery():
    settings = parse_settings(dict(BASE, COMFYUI_PODS="a=http://127.0.0.1:1, b=http://127.0.0.1:2/"), C)
    assert [(p.name, p.base_url) for p in settings.static_pods] == [
        ("a", "http://127.0.0.1:1"), ("b", "http://127.0.0.1:2")]


@pytest.mark.parametrize("change, named", [
    ({"JOBS_QUEUE_URL": ""}, "JOBS_QUEUE_URL"),
    ({"JOBS_TABLE_NAME": " "}, "JOBS_TABLE_NAME"),
    ({"OUTPUTS_BUCKET_NAME": ""}, "OUTPUTS_BUCKET_NAME"),
    ({"AWS_REGION": ""}, "AWS_REGION"),
    ({"JOB_LEASE_SECONDS": "soon"}, "JOB_LEASE_SECONDS"),
    ({"JOB_HEARTBEAT_SECONDS": "0"}, "JOB_HEARTBEAT_SECONDS"),
    ({"JOB_HEARTBEAT_SECONDS": "90"}, "shorter than JOB_LEASE_SECONDS"),
    ({"JOB_LEASE_SECONDS": "200"}, "must not exceed JOB_VISIBILITY_TIMEOUT_SECONDS"),
    ({"HEALTH_PORT": "http"}, "HEALTH_PORT"),
    ({"COMFYUI_PODS": "a=ftp://x"}, "COMFYUI_PODS"),
    ({"COMFYUI_PODS": "a=http://x,a=http://y"}, "unique"),
    ({"SESSION_ACTIVITY_SECONDS": "0"}, "SESSION_ACTIVITY_SECONDS"),
    ({"SCALING_STALE_SECONDS": "10"}, "at least 3 x SCALING_REFRESH_SECONDS"),
    ({"DELETION_COST_IDLE_SECONDS": "-1"}, "DELETION_COST_IDLE_SECONDS"),
])
def test_bad_settings_are_refused_naming_the_variable(change, named):
    with pytest.raises(SettingsError, match=named):
        parse_settings(dict(BASE, **change), C)

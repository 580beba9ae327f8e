"""The output shipper's measurement of the local output folder reaches /metrics."""
import json

from prometheus_client import CollectorRegistry, generate_latest

from multigpu.core.output_usage import OutputUsageCollector
from multigpu.launch import expose_output_usage


def scrape(registry):
    return generate_latest(registry).decode()


def test_the_shippers_last_measurement_is_on_metrics_with_its_age(tmp_path):
    usage = tmp_path / "usage.json"
    registry = CollectorRegistry()
    registry.register(OutputUsageCollector(str(usage), clock=lambda: 1000.0))
    assert "comfyui_output_local_bytes" not in scrape(registry)  # not measured yet: no series, no error
    usage.write_text(json.dumps({"output_bytes": 5000, "output_files": 2, "unshipped_files": 1,
                                 "pruned_placeholders": 3, "limit_bytes": 40 * 2**30, "over_limit": False,
                                 "measured_at": 940.0}))
    text = scrape(registry)
    assert "comfyui_output_local_bytes 5000.0" in text
    assert "comfyui_output_local_files 2.0" in text
    assert "comfyui_output_unshipped_files 1.0" in text
    assert "comfyui_output_pruned_placeholders 3.0" in text
    assert "comfyui_output_local_limit_bytes 4.294967296e+10" in text
    assert "comfyui_output_usage_age_seconds 60.0" in text
    usage.write_text("{half a file")
    assert "comfyui_output_local_bytes" not in scrape(registry)


def test_the_launcher_registers_it_only_when_the_pod_names_the_file(tmp_path):
    registry = CollectorRegistry()
    assert not expose_output_usage(registry, {})
    (tmp_path / "usage.json").write_text(json.dumps({"output_bytes": 7, "measured_at": 0}))
    assert expose_output_usage(registry, {"COMFY_OUTPUT_USAGE_FILE": str(tmp_path / "usage.json")})
    assert "comfyui_output_local_bytes 7.0" in scrape(registry)

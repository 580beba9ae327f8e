from multigpu.core.readiness import marker_file_check
from multigpu.launch import models_ready_checks


def test_the_marker_check_names_the_missing_file_until_it_exists(tmp_path):
    marker = tmp_path / "ready"
    check = marker_file_check(str(marker))
    assert check() == f"models not synced yet: {marker} does not exist"
    marker.write_text("")
    assert check() is None


def test_the_launcher_checks_the_marker_only_when_the_pod_names_one(tmp_path):
    assert models_ready_checks({}) == []
    (check,) = models_ready_checks({"MODELS_READY_MARKER": str(tmp_path / "ready")})
    assert "models not synced yet" in check()

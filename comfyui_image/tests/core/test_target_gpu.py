import pytest

from multigpu.core.target_gpu import TargetGpuError, parse_target_gpu


def test_absent_header_means_automatic_routing():
    assert parse_target_gpu(None, 4) is None


@pytest.mark.parametrize("raw,expected", [("0", 0), ("3", 3), (" 2 ", 2)])
def test_valid_indices_are_accepted(raw, expected):
    assert parse_target_gpu(raw, 4) == expected


@pytest.mark.parametrize("raw", ["4", "7", "-1", "1.0", "gpu1", "", "0x1", "１"])
def test_out_of_range_or_non_integer_values_are_rejected_with_header_and_range(raw):
    with pytest.raises(TargetGpuError) as caught:
        parse_target_gpu(raw, 4)
    assert str(caught.value) == f"X-TARGET-GPU must be an integer in 0..3, got {raw!r}"
    assert caught.value.as_json()["error"]["valid_range"] == [0, 3]
    assert caught.value.as_json()["error"]["header"] == "X-TARGET-GPU"

"""The front refuses a client prompt id a v0.33 worker would refuse (core/prompt_ids.py)."""
import uuid

import pytest

from multigpu.core.prompt_ids import prompt_id_problem


def test_a_lowercase_uuid_passes_the_uuid_rule_and_anything_passes_the_any_rule():
    assert prompt_id_problem(str(uuid.uuid4()), "uuid") is None
    assert prompt_id_problem("job-123", "any") is None


@pytest.mark.parametrize("value", ["job-123", str(uuid.uuid4()).upper(), uuid.uuid4().hex, 7])
def test_anything_else_is_a_400_body_of_type_invalid_prompt_id_naming_the_value(value):
    body = prompt_id_problem(value, "uuid")
    assert body["error"]["type"] == "invalid_prompt_id" and repr(value) in body["error"]["details"]


def test_an_unknown_rule_is_a_programming_error():
    with pytest.raises(ValueError, match="prompt id rule"):
        prompt_id_problem("x", "strict")

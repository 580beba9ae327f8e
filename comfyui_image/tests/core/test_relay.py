"""Which client a worker's WebSocket message goes to in process mode (core/relay.py)."""
import pytest

import struct

from multigpu.core.previews import preview_with_metadata
from multigpu.core.relay import BROADCAST, DEFER, DROP, END, HOLD, RELAY, binary_decision, relay_decision

OOM = {"prompt_id": "p", "exception_type": "torch.OutOfMemoryError",
       "exception_message": "CUDA out of memory. Tried to allocate 2.00 GiB"}


@pytest.mark.parametrize("event, data, running, last_attempt, decision", [
    ("progress", {"value": 1, "max": 3, "prompt_id": "p"}, "p", True, RELAY),
    ("executed", {"node": "9", "prompt_id": "p", "output": {}}, "p", True, RELAY),
    ("executing", {"node": "3", "prompt_id": "p"}, "p", True, RELAY),
    ("executing", {"node": None, "prompt_id": "p"}, "p", True, END),
    ("executing", {"node": None, "prompt_id": "old"}, "p", True, DROP),
    ("progress", {"value": 1, "max": 3, "prompt_id": "old"}, None, True, DROP),
    ("status", {"status": {"exec_info": {"queue_remaining": 1}}}, "p", True, DROP),
    ("feature_flags", {"supports_preview_metadata": True}, None, True, DROP),
    ("crystools.monitor", {"cpu_utilization": 3}, "p", True, BROADCAST),
    # The node a worker re-sends to the front's reconnecting socket (stock names no prompt): the
    # running prompt's, so for its client only, never for every client of the front.
    ("executing", {"node": "3"}, "p", True, RELAY),
    ("executing", {"node": "3"}, None, True, DROP),
    ("execution_error", OOM, "p", False, HOLD),
    ("execution_error", OOM, "p", True, DEFER),
    ("execution_error", dict(OOM, exception_type="ValueError", exception_message="bad width"), "p", False,
     DEFER),
    ("execution_success", {"prompt_id": "p"}, "p", True, DEFER),
    ("execution_interrupted", {"prompt_id": "p", "node_id": "3"}, "p", True, DEFER),
    ("execution_success", {"prompt_id": "old"}, "p", True, DROP),
])
def test_a_message_goes_where_its_prompt_id_says(event, data, running, last_attempt, decision):
    assert relay_decision(event, data, running, last_attempt) == decision


def test_a_preview_goes_to_the_running_prompt_unless_its_metadata_names_another():
    assert binary_decision(preview_with_metadata(b"x", {"prompt_id": "p"}), "p") == RELAY
    assert binary_decision(preview_with_metadata(b"x", {"prompt_id": "old"}), "p") == DROP
    assert binary_decision(struct.pack(">II", 1, 2) + b"x", "p") == RELAY
    assert binary_decision(struct.pack(">II", 1, 2) + b"x", None) == DROP

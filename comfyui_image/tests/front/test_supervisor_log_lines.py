"""Worker output reaches the pod log as plain text (front/supervisor.py)."""
from multigpu.front.supervisor import plain_log_line


def test_colour_codes_of_a_v033_log_line_are_removed_and_the_text_kept():
    raw = b"\x1b[32m[INFO]\x1b[0m got prompt\n"
    assert plain_log_line(raw) == "[INFO] got prompt"


def test_bytes_that_are_not_utf8_do_not_stop_the_relay():
    assert plain_log_line(b"\xff\x1b[1;31mfailed\x1b[0m\r\n") == "\ufffdfailed"

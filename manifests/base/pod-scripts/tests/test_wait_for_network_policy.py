"""wait_for_network_policy.py: the pod starts only once a forbidden connection stops getting through."""
from __future__ import annotations

import errno
import socket

import pytest

from conftest import load

wait = load("wait_for_network_policy")


def quiet(*args, **kwargs):
    pass


def test_returns_once_the_forbidden_connection_is_dropped():
    answers = [True, True, False]
    calls = []

    def probe():
        calls.append(1)
        return answers.pop(0)

    now = [0.0]
    assert wait.wait_until_enforced(probe, timeout=300, pause=0.5, clock=lambda: now[0],
                                    sleep=lambda s: now.__setitem__(0, now[0] + s), log=quiet)
    assert len(calls) == 3


def test_gives_up_at_the_deadline_so_the_pod_never_starts_unprotected():
    now = [0.0]
    assert not wait.wait_until_enforced(lambda: True, timeout=10, pause=4, clock=lambda: now[0],
                                        sleep=lambda s: now.__setitem__(0, now[0] + s), log=quiet)
    assert now[0] == 12


def test_a_listening_peer_means_traffic_gets_through():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    try:
        assert wait.connect_gets_through("127.0.0.1", server.getsockname()[1], timeout=5)
    finally:
        server.close()


def test_a_refused_connection_got_through_and_a_timeout_or_local_denial_did_not(monkeypatch):
    def raising(error):
        def create_connection(address, timeout):
            raise error
        return create_connection

    monkeypatch.setattr(socket, "create_connection", raising(ConnectionRefusedError(errno.ECONNREFUSED, "refused")))
    assert wait.connect_gets_through("172.20.0.1", 443, timeout=1)
    monkeypatch.setattr(socket, "create_connection", raising(socket.timeout("timed out")))
    assert not wait.connect_gets_through("172.20.0.1", 443, timeout=1)
    monkeypatch.setattr(socket, "create_connection", raising(PermissionError(errno.EPERM, "denied")))
    assert not wait.connect_gets_through("172.20.0.1", 443, timeout=1)


def test_the_probe_must_be_host_and_port(capsys):
    with pytest.raises(SystemExit) as exit_:
        wait.parse_args(["--probe", "172.20.0.1"])
    assert exit_.value.code == 2
    assert "--probe must be HOST:PORT" in capsys.readouterr().err

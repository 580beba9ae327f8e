"""front/watchdog.py's start-up deadline with a fake clock, link and supervisor (no process, no
server): a worker that never comes up is killed once, so the supervisor restarts it."""
import asyncio

from multigpu.front.watchdog import WorkerWatchdog


class FakeLink:
    def __init__(self, gpu_id):
        self.gpu_id, self.up, self.base_url = gpu_id, False, "http://127.0.0.1:1"


class FakeSupervisor:
    def __init__(self):
        self.pids, self.kills = {0: 100}, []

    def pid(self, gpu):
        return self.pids.get(gpu)

    def kill(self, gpu, reason):
        self.kills.append((gpu, reason))


def watchdog_over(link, supervisor, now):
    return WorkerWatchdog([link], supervisor, interval_s=10, startup_s=600, clock=lambda: now[0])


def test_a_worker_that_hangs_at_start_up_is_killed_once_after_the_deadline():
    link, supervisor, now = FakeLink(0), FakeSupervisor(), [0.0]
    watchdog = watchdog_over(link, supervisor, now)
    asyncio.run(watchdog.check_once(None))  # first seen: its start
    now[0] = 599.0
    asyncio.run(watchdog.check_once(None))
    assert supervisor.kills == []
    now[0] = 600.0
    asyncio.run(watchdog.check_once(None))
    now[0] = 1200.0  # its exit is not reported yet: not killed twice
    asyncio.run(watchdog.check_once(None))
    assert len(supervisor.kills) == 1 and supervisor.kills[0][0] == 0
    assert supervisor.kills[0][1].startswith("ComfyUI for GPU 0 did not open its WebSocket within 600 s")


def test_each_restart_gets_its_own_deadline():
    link, supervisor, now = FakeLink(0), FakeSupervisor(), [0.0]
    watchdog = watchdog_over(link, supervisor, now)
    asyncio.run(watchdog.check_once(None))
    now[0] = 500.0
    supervisor.pids[0] = 101  # restarted: a new start
    asyncio.run(watchdog.check_once(None))
    now[0] = 1099.0
    asyncio.run(watchdog.check_once(None))
    assert supervisor.kills == []
    now[0] = 1100.0
    asyncio.run(watchdog.check_once(None))
    assert len(supervisor.kills) == 1

"""The judges run below the program's priority, so the program they all wait for keeps its core
(preview/priority.py)."""

from __future__ import annotations

import os
import time

import psutil

from access import simulator
from preview import policy_client, priority


def _niceness_once_started(pid: int, command: str) -> int:
    """The niceness of ``pid`` once nice(1) has handed it to ``command``."""
    process = psutil.Process(pid)
    deadline = time.monotonic() + 30
    while command not in " ".join(process.cmdline()) or process.name() == "nice":
        assert time.monotonic() < deadline, f"{command} did not start: {process.cmdline()}"
        time.sleep(0.01)
    return process.nice()


def test_the_pack_and_the_simulator_run_below_the_programs_priority():
    expected = min(os.getpriority(os.PRIO_PROCESS, 0) + priority.NICENESS, 19)
    pack = policy_client.PolicyPack(connect=False)
    started = simulator.Simulator(priority.lowered())
    try:
        assert _niceness_once_started(pack.process.pid, "pulumi.policy") == expected
        assert _niceness_once_started(started.process.pid, "simulate.mjs") == expected
    finally:
        pack.close()
        started.close()

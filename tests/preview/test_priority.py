"""The judges run below the program's priority, so the program they all wait for keeps its core
(preview/priority.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

from access import simulator
from preview import policy_client, priority
from tests.conftest import ROOT


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


def test_once_the_program_has_ended_the_preview_steps_down_to_its_judges_priority():
    probe = (
        "import os, threading\n"
        "from preview import priority\n"
        "before = os.getpriority(os.PRIO_PROCESS, 0)\n"
        "priority.program_ended()\n"
        "seen = []\n"
        "thread = threading.Thread(target=lambda: seen.append(os.getpriority(os.PRIO_PROCESS, 0)))\n"
        "thread.start(); thread.join()\n"
        "print(before, os.getpriority(os.PRIO_PROCESS, 0), seen[0])\n"
    )
    run = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    before, after, thread = map(int, run.stdout.split())
    assert after == thread == min(before + priority.NICENESS, 19), "the preview, and a thread it starts after"

"""The judges run below the program's priority: the program is what every judge's verdict waits for.

The preview's judges (the policy pack, its Analyze stream, the IAM simulator and the simulator's rehearsal) run in
processes of their own while the program runs, so that their work happens beside it (issue 33). On a two-core
machine that is four processes beside the program while it registers. With them at its priority, prod's program
was off the CPU for 0.5-0.7 s of its run (its wall time less its CPU time, which is ~0 alone): the scheduler gave
its core to a judge that was only working ahead. Lower (``nice``), a judge takes the CPU the program leaves; it is
not starved, since the program uses one core, and once it has ended the preview steps down to the judges' level
(``program_ended``).
"""

from __future__ import annotations

import os
import shutil

# Ten steps: a judge contending with the program for one core gets ~10 % of it (the kernel's weights: 1024 at 0,
# 110 at 10, https://docs.kernel.org/scheduler/sched-nice-design.html), and the judge on the other core is not
# slowed at all. nice(1) is coreutils, on every Debian machine; without it the judges run at the program's priority.
NICENESS = 10


def lowered() -> list[str]:
    """The prefix that starts a judge's command below the program's priority (empty where nice(1) is missing)."""
    nice = shutil.which("nice")
    return [nice, "-n", str(NICENESS)] if nice else []


def program_ended() -> None:
    """Once the program has ended, the preview steps down to its judges' priority: what it has left is judging too
    (deriving the accesses the simulator waits for, reading verdicts), and no judge is working ahead any more. A
    thread started from here on runs at this priority as well (Linux: niceness is per thread, and inherited), as
    the access derivation's does. The process cannot step back up, and needs not."""
    if lowered():
        os.nice(NICENESS)

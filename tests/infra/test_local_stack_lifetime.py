"""A local stack does not outlive its process, however that process dies: SIGKILLed, `python -m localapi`
leaves none of its function workers behind (localapi/runtime.py). Its processes are found by their
process group: start_local (tests/support/local.py) gives the stack one, which its workers join."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from tests.support import TEMPLATE
from tests.support.local import start_local, wait_for


def alive_in_group(group: int) -> list[str]:
    """`pid command` of every process of the group that has not exited (a zombie has: it only awaits
    its parent's reaping)."""
    listing = subprocess.run(
        ["ps", "-A", "-ww", "-o", "pgid=,stat=,pid=,args="], capture_output=True, text=True, check=True
    ).stdout
    rows = [line.split(None, 3) for line in listing.splitlines()]
    return [" ".join(row[2:]) for row in rows if int(row[0]) == group and not row[1].startswith("Z")]


def test_a_sigkilled_stack_leaves_none_of_its_processes_behind(tmp_path: Path):
    process, _ = start_local(tmp_path / "out.log", "--quiet")
    try:
        started = alive_in_group(process.pid)
        assert len(started) > len(TEMPLATE.functions()), started  # the stack and every function's workers
        process.kill()  # the stack's process only: no clean-up of its own runs
        process.wait()
        # at most 30 s: the workers see their parent gone
        left = wait_for(lambda: alive_in_group(process.pid), lambda alive: not alive)
        assert not left, f"of the stack's {len(started)} processes, still running after it was killed: {left}"
    finally:
        with contextlib.suppress(ProcessLookupError):  # whatever this test may have left
            os.killpg(process.pid, signal.SIGKILL)

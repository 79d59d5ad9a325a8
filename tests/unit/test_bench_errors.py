"""`make bench` shows why a step failed: the step's own output and which step, with no traceback.

The bench's code runs here as `make bench` runs it, in a process of its own (no test imports benchmarks/).
The failing install is real and offline: a package that exists nowhere, with pip told to use no index
(PIP_NO_INDEX), so pip answers at once with "No matching distribution".
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from devkit.template import ROOT

MISSING = "no-such-package-for-the-bench==1.0"


def bench(statement: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A statement run in a process that imported the bench's helpers (pip_target, sh), with argv = args."""
    script = f"import sys\nfrom pathlib import Path\nfrom benchmarks.__main__ import pip_target, sh\n{statement}"
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=os.environ | (env or {}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_failed_install_exits_1_with_pips_message_and_which_install_failed(tmp_path: Path):
    target = tmp_path / "runtime"
    result = bench(
        f"pip_target(Path(sys.argv[1]), {MISSING!r}, compile_=False)", str(target), env={"PIP_NO_INDEX": "1"}
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "No matching distribution found for no-such-package-for-the-bench" in result.stderr  # pip's own words
    assert result.stderr.splitlines()[-1] == f"pip install of {MISSING} into {target} failed (exit 1)"
    assert "Traceback" not in output
    assert "CalledProcessError" not in output
    assert not target.exists()  # so the next run tries again


def test_a_command_that_works_stays_quiet_and_returns_its_output():
    result = bench("print(repr(sh(sys.executable, '-c', 'print(42)')))")
    assert (result.returncode, result.stdout, result.stderr) == (0, "'42\\n'\n", "")


def test_any_failing_step_names_its_command_when_no_description_is_given():
    result = bench("sh(sys.executable, '-c', 'import sys; print(\"half done\"); sys.exit(\"broken: the reason\")')")
    assert result.returncode == 1
    assert "half done" in result.stderr  # its stdout
    assert "broken: the reason" in result.stderr  # and its stderr
    last = result.stderr.rstrip().splitlines()[-1]
    assert last.endswith("failed (exit 1)")
    assert sys.executable in last
    assert "Traceback" not in result.stderr

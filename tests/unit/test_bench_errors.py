"""`make bench` shows why an install failed: pip's own message and which install, with no traceback.

The failing install is real and offline: a package that exists nowhere, with pip told to use no
index (PIP_NO_INDEX), so pip answers at once with "No matching distribution".
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmarks.__main__ import pip_target, sh
from devkit.template import ROOT

MISSING = "no-such-package-for-the-bench==1.0"


def test_a_failed_install_exits_1_with_pips_message_and_which_install_failed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    target = tmp_path / "runtime"
    with pytest.raises(SystemExit) as exited:
        pip_target(target, MISSING, compile_=False)
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "No matching distribution found for no-such-package-for-the-bench" in err  # pip's own words
    assert f"pip install of {MISSING} into {target} failed (exit 1)" in err
    assert not target.exists()  # so the next run tries again


def test_the_bench_process_prints_no_traceback_when_an_install_fails(tmp_path):
    """As `make bench` sees it: the whole process, its exit code and everything it wrote."""
    script = "import sys; from pathlib import Path; from benchmarks.__main__ import pip_target; "
    script += f"pip_target(Path(sys.argv[1]), {MISSING!r}, compile_=False)"
    env = os.environ | {"PIP_NO_INDEX": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "runtime")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "No matching distribution found" in result.stderr
    assert "failed (exit 1)" in result.stderr.splitlines()[-1]
    assert "Traceback" not in output
    assert "CalledProcessError" not in output


def test_a_command_that_works_stays_quiet_and_returns_its_output(capsys):
    assert sh(sys.executable, "-c", "print('built')") == "built\n"
    assert capsys.readouterr() == ("", "")


def test_any_failing_step_names_its_command_when_no_description_is_given(capsys):
    with pytest.raises(SystemExit) as exited:
        sh(sys.executable, "-c", "import sys; print('half done'); sys.exit('broken: the reason')")
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "half done" in err  # its stdout
    assert "broken: the reason" in err  # and its stderr
    assert err.rstrip().endswith("failed (exit 1)")
    assert sys.executable in err.splitlines()[-1]

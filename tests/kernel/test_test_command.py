"""The test command must fail, not pass, when pytest collects nothing (pytest's exit code 5)."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT


def test_a_run_that_collects_no_tests_fails():
    run = subprocess.run(
        [
            str(ROOT / "scripts" / "run-pytest"),
            "tests/test_smoke.py",
            "-k",
            "no_test_has_this_name",
            "-p",
            "no:randomly",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"HUB_TEST_PROCESSES": "0", "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "collected no tests" in run.stderr

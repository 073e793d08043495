"""Data that cannot ship is found where the user says, or the tests that need it skip with one line naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("probe_ml_latest.py")


def run(tmp_path: Path, data: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER",
                                                            "PYTEST_XDIST_TESTRUNUID")}
    env["SHIELDREC_DATA"] = str(data)
    if ci:
        env["CI"] = "true"
    # The suite's own conftest applies: the same skip and the same CI rule as the real run.
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-o", "addopts=",
                           "--import-mode=importlib", str(PROBE)],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120)


@pytest.mark.slow
def test_absent_data_skips_with_one_line_that_says_where_to_get_it(tmp_path: Path) -> None:
    done = run(tmp_path, tmp_path / "nothing-here", ci=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 skipped" in done.stdout
    assert "needs data: ml-latest-small was not found" in done.stdout and "SHIELDREC_DATA" in done.stdout


@pytest.mark.slow
def test_in_ci_absent_data_fails_instead_of_skipping(tmp_path: Path) -> None:
    done = run(tmp_path, tmp_path / "nothing-here", ci=True)
    assert done.returncode != 0 and "1 failed" in done.stdout, done.stdout
    assert "a test was skipped in CI" in done.stdout


@pytest.mark.slow
def test_data_given_by_shieldrec_data_is_found(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "ml-latest-small"
    folder.mkdir(parents=True)
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n", "utf-8")
    (folder / "tags.csv").write_text("userId,movieId,tag,timestamp\n", "utf-8")
    done = run(tmp_path, tmp_path / "data", ci=True)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout

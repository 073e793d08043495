"""`shieldrec eval learning` on a small slice: the JSON the issue names, the plot, the bands."""

from __future__ import annotations

import json
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner

from shieldrec.cli import cli
from shieldrec.eval import learning as L

pytestmark = pytest.mark.slow


def test_eval_learning_prints_curves_per_method_and_saves_the_plot(tmp_path: Path) -> None:
    png = tmp_path / "curves.png"
    out = CliRunner().invoke(cli, ["eval", "learning", "--dataset", "movielens-100k", "--users", "2",
                                   "--rounds", "2", "--json", "--plot", str(png)])
    # A failure names its line: CliRunner keeps the exception, not its traceback, in the output.
    assert out.exit_code == 0, out.output + "".join(traceback.format_exception(*out.exc_info))
    doc = json.loads(out.stdout)
    assert set(doc["curves"]) == set(L.METHODS)
    assert all(len(v) == 3 for v in doc["curves"].values())  # before any feedback, then after each round
    assert doc["events"][0] == 0 and doc["events"][-1] > doc["events"][0]
    assert all(0.0 <= x <= 1.0 for v in doc["curves"].values() for x in v)
    # Before any feedback there is nothing to adapt to: the adapted prior is the prior.
    assert doc["curves"][L.ADAPTED][0] == doc["curves"][L.PRIOR][0]
    assert doc["by_history_length"] and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_unknown_data_set_is_a_clear_error() -> None:
    out = CliRunner().invoke(cli, ["eval", "learning", "--dataset", "netflix"])
    assert out.exit_code != 0 and "unknown data set" in out.output

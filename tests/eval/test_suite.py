"""The evaluation suite on small slices of the real data (leaving shapes and domains out of training is
tests/ranking/test_weights_contract.py)."""

from __future__ import annotations

import json

from click.testing import CliRunner

from shieldrec.cli import cli
from shieldrec.eval.methods import FUSION, LEARNED, RANDOM, SUITE


def test_suite_command_reports_every_method_and_history_band() -> None:
    res = CliRunner().invoke(cli, ["eval", "suite", "--dataset", "movielens-100k", "--users", "24", "--json"])
    assert res.exit_code == 0, res.output
    [result] = json.loads(res.stdout)["results"]
    assert result["dataset"] == "movielens-100k" and result["cases"] == 24
    rows = {m["name"]: m for m in result["methods"]}
    assert list(rows) == list(SUITE)
    for row in rows.values():
        assert 0.0 <= row["NDCG@1"] <= row["NDCG@5"] <= row["NDCG@10"] <= 1.0
        assert row["HR@1"] <= row["HR@3"] and row["NDCG@1"] == row["HR@1"] and 0 < row["MRR"] <= 1
    bands = result["by_history_length"]
    assert sum(b["cases"] for b in bands.values()) == 24 and set(bands) <= {"≤10", "11–50", ">50"}
    assert all(set(b) == {"cases", *SUITE} for b in bands.values())
    assert set(result["learned_beats"]) == {"hand-set fusion", "embedding baseline", "popularity"}
    # Far apart even on 24 users: both ShieldRec rankers know more than chance.
    assert rows[LEARNED]["NDCG@10"] > rows[RANDOM]["NDCG@10"] + 0.1
    assert rows[FUSION]["NDCG@10"] > rows[RANDOM]["NDCG@10"] + 0.1

    table = CliRunner().invoke(cli, ["eval", "suite", "--dataset", "movielens-100k", "--users", "8",
                                     "--method", "random", "--method", "bm25"])
    assert table.exit_code == 0, table.output
    assert "| method | NDCG@1 | NDCG@5 | NDCG@10 | HR@1 | HR@3 | MRR | seconds |" in table.stdout
    assert "| bm25 |" in table.stdout and "learned" not in table.stdout
    assert "NDCG@10 by history length" in table.stdout
    unknown = CliRunner().invoke(cli, ["eval", "suite", "--dataset", "imdb"])
    assert unknown.exit_code == 1 and "unknown data set(s) 'imdb'" in unknown.output

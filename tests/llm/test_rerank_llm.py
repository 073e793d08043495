"""`shieldrec rerank --with-llm`: the language model joins the batch path, or is reported missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from shieldrec.cli import cli
from shieldrec.settings import Settings

pytestmark = pytest.mark.llm

REQUEST = {
    "request_id": "r1",
    "instruction": "a gentle film about robots in space, no horror",
    "history": [{"item_id": "h1", "title": "WALL-E", "text": "A lonely robot cleans an abandoned Earth.",
                 "event": "liked"}],
    "candidates": [
        {"item_id": "c1", "title": "The Iron Giant", "text": "A boy befriends a giant robot from space."},
        {"item_id": "c2", "title": "Tax Law Basics", "text": "A lecture series on corporate tax filing."},
        {"item_id": "c3", "title": "Silent Running", "text": "A gardener keeps the last forests alive in orbit."},
        {"item_id": "c4", "title": "Night Terror", "text": "A slasher stalks campers.", "meta": {"genres": ["Horror"]}},
    ],
}


def run(tmp_path: Path, *extra: str) -> tuple[int, list[dict], str]:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(REQUEST) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["rerank", "--input", str(source), *extra])
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, rows, result.stderr


def test_a_missing_model_is_reported_and_the_ranking_goes_on(tmp_path: Path) -> None:
    settings = Settings()
    settings.llm.model = str(tmp_path / "no-such-model.gguf")
    settings.save()
    code, rows, err = run(tmp_path, "--with-llm")
    assert code == 0 and "ranking without the language model" in err and "no-such-model.gguf" in err
    [row] = rows
    ids = [r["item_id"] for r in row["ranking"]] + [r["item_id"] for r in row["removed"]]
    assert sorted(ids) == ["c1", "c2", "c3", "c4"]


def test_the_bundled_model_joins_the_batch_ranking(tmp_path: Path, bundled_gguf: Path) -> None:
    settings = Settings()
    settings.llm.model = str(bundled_gguf)
    settings.ranking.weights["llm"] = 1.0  # loud enough to show in the reasons
    settings.save()
    code, rows, err = run(tmp_path, "--with-llm")
    assert code == 0 and "likelihood scoring" in err
    [row] = rows
    assert [r["item_id"] for r in row["removed"]] == ["c4"]  # the rules still hold
    reasons = [x for r in row["ranking"] for x in r["reasons"]]
    assert any("local language model" in x for x in reasons)
    assert run(tmp_path, "--with-llm")[1] == rows  # the same request, the same answer
    # Without the flag the model stays out of the batch path.
    assert not any("local language model" in x for r in run(tmp_path)[1][0]["ranking"] for x in r["reasons"])

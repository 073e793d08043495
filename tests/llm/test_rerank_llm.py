"""`shieldrec rerank --with-llm`: the language model joins the batch path, or is reported missing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
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


POOL = [
    ("s1", "The Martian", "An astronaut stranded on Mars survives with science and wit until a hopeful rescue."),
    ("s2", "Arrival", "A linguist learns to talk with aliens whose ships have landed, and finds hope."),
    ("t1", "Filing Your Taxes", "A step-by-step guide to deductions, receipts and quarterly payments."),
    ("b1", "Sourdough at Home", "Feeding a starter, shaping loaves and scoring the crust before baking."),
    ("g1", "The Iron Giant", "A boy befriends a giant robot from space."),
    ("x1", "Spreadsheet Formulas", "Pivot tables, lookups and conditional formatting for accountants."),
]
INSTRUCTIONS = ["something hopeful about space", "a gentle film about robots", "science fiction with heart"]


def _requests(n: int) -> str:
    lines = []
    for i in range(n):
        picked = [POOL[(i + k) % len(POOL)] for k in (0, 2, 4)]
        lines.append(json.dumps({
            "request_id": f"r{i:02d}", "instruction": INSTRUCTIONS[i % len(INSTRUCTIONS)],
            "history": [{"item_id": "h1", "title": "Contact", "text": "A scientist hears a signal from the stars.",
                         "event": "liked"}],
            "candidates": [{"item_id": c, "title": t, "text": x} for c, t, x in picked],
        }))
    return "\n".join(lines) + "\n"


def test_killing_the_model_during_a_40_request_run_still_yields_40_results(tmp_path: Path, bundled_gguf: Path,
                                                                          procs) -> None:  # noqa: ANN001
    settings = Settings()
    settings.llm.model = str(bundled_gguf)
    settings.ranking.weights["llm"] = 1.0  # loud enough to show in the reasons
    settings.save()
    source = tmp_path / "in.jsonl"
    source.write_text(_requests(40), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    command = str(Path(sys.executable).with_name("shieldrec"))
    run = subprocess.Popen([command, "rerank", "--with-llm", "--input", str(source),
                            "--output", str(out)], stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        deadline = time.monotonic() + 120
        worker = None
        while worker is None and time.monotonic() < deadline and run.poll() is None:
            kids = procs.children(run.pid)
            worker = kids[0] if kids else None
            time.sleep(0.05)
        assert worker is not None, "the language model's worker never started"
        # Its load, then five passes answered: some requests are ranked with the model before the kill.
        assert procs.answered(worker, 6) == 6, "the language model's worker did not answer five passes"
        procs.signal_when_busy(worker, signal.SIGKILL).join(timeout=60)
        _, err = run.communicate(timeout=600)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 0, err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["request_id"] for r in rows] == [f"r{i:02d}" for i in range(40)]
    for row in rows:
        ids = [r["item_id"] for r in row["ranking"]] + [r["item_id"] for r in row["removed"]]
        assert len(ids) == 3
    stops = [line for line in err.splitlines() if line.startswith("language model stopped:")]
    assert len(stops) == 1 and "SIGKILL" in stops[0] and "ranking without it" in stops[0], err
    assert "scorer 'llm' failed" not in err  # said once, not once per request
    assert "llama_model_loader" not in err  # llama.cpp's chatter stays in the worker's log
    log = (Path(os.environ["SHIELDREC_HOME"]) / "cache" / "logs" / "llm-worker.log").read_text()
    assert log.count("shieldrec llm worker") == 2, (err, log[-3000:])  # a fresh worker after the kill...
    said = [any("local language model" in x for r in row["ranking"] for x in r["reasons"]) for row in rows]
    assert said[-1] and sum(said) >= 10  # ...that ranked the rest with the model

"""The scripting path stays headless: `shieldrec rerank` never loads the terminal app's toolkit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each test runs the real command in a fresh interpreter, models included

PROBE = """
import json, sys
from shieldrec.cli import cli
cli.main(args=sys.argv[1:], prog_name="shieldrec", standalone_mode=False)
print(json.dumps(sorted(m for m in sys.modules
                      if m.split(".")[0] in ("textual", "shieldrec", "fastapi", "starlette", "uvicorn", "ray"))),
      file=sys.stderr)
"""


def test_rerank_does_not_import_textual(tmp_path: Path, shieldrec_home: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({
        "request_id": "r", "instruction": "no horror",
        "candidates": [{"item_id": "a", "title": "Arrival"}, {"item_id": "b", "title": "It", "meta": {"genres": ["Horror"]}}],
    }) + "\n")
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "SHIELDREC_HOME": str(shieldrec_home), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, "rerank", "-i", str(source), "-o", str(out)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stderr.strip().splitlines()[-1])
    assert "shieldrec.ranking.pipeline" in loaded  # it really ranked in that interpreter
    assert not [m for m in loaded if m.startswith("textual")]
    assert not [m for m in loaded if m.startswith(("shieldrec.tui", "shieldrec.agent", "shieldrec.serve"))]
    assert not [m for m in loaded if m.split(".")[0] in ("fastapi", "starlette", "uvicorn", "ray")]
    result = json.loads(out.read_text())
    assert [r["item_id"] for r in result["ranking"]] == ["a"]
    [removed] = result["removed"]
    assert removed["item_id"] == "b" and "horror" in removed["reason"].lower()


def test_the_service_does_not_import_the_terminal_app(shieldrec_home: Path) -> None:
    probe = ("import json, sys; import shieldrec.cli.serve, shieldrec.serve.app, shieldrec.serve.run; "
             "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'textual' "
             "or m.startswith('shieldrec.tui'))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SHIELDREC_HOME": str(shieldrec_home)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_eval_does_not_import_the_terminal_app(shieldrec_home: Path) -> None:
    env = {**os.environ, "SHIELDREC_HOME": str(shieldrec_home)}
    done = subprocess.run([sys.executable, "-c", PROBE, "eval", "--users", "3", "--method", "random", "--format", "json"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stderr.strip().splitlines()[-1])
    assert "shieldrec.eval.runner" in loaded  # it really evaluated in that interpreter
    assert [row["name"] for row in json.loads(done.stdout)["methods"]] == ["random"]
    assert not [m for m in loaded if m.startswith(("textual", "shieldrec.tui", "shieldrec.agent"))]

"""`rerank --engine ray` on a real local Ray cluster (2 CPUs): the local engine's output, byte
for byte, with the same per-line errors; the actors encode what no run has stored yet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from shieldrec.batch import CSV_COLUMNS
from shieldrec.cli import cli
from shieldrec.store import Store, load_profile_file

pytestmark = pytest.mark.slow

TOPICS = ["a hopeful journey to the stars", "a haunted house at night", "a bear who loves marmalade",
          "astronauts fixing a broken station", "a detective in foggy London", "robots learning kindness",
          "a war at sea", "friends opening a bakery", "a heist on a moving train", "a dragon and a librarian"]
GENRES = [["Science Fiction"], ["Horror"], ["Family"], ["Drama", "Science Fiction"], ["Mystery"],
          ["Animation"], ["War"], ["Comedy"], ["Thriller"], ["Fantasy"]]


def lines(prefix: str, count: int) -> list[str]:
    out = []
    for n in range(count):
        cands = [{"item_id": f"{prefix}{n}-{k}", "title": f"{prefix.title()} film {(n * 3 + k) % 17}",
                  "text": f"A story about {TOPICS[(n + k) % 10]}.", "creator": f"Director {k % 4}",
                  "meta": {"genres": GENRES[(n + k) % 10], "rating_count": 100 * (k + 1)}} for k in range(12)]
        request: dict[str, Any] = {"request_id": f"{prefix}{n}", "candidates": cands,
                                   "instruction": ["", "something hopeful, no horror", "not by Director 2"][n % 3]}
        if n % 4 == 0:
            request["history"] = [{"item_id": f"h{n}", "title": "WALL-E", "event": "liked"}]
        out.append(json.dumps(request))
    return out


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    # Skipped where the optional extra is missing, with the reason; CI installs it, and a skip there fails.
    ray = pytest.importorskip("ray", reason="the Ray engine is an optional extra: pip install 'shieldrec[ray]'")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def rerank(*args: str) -> Result:
    return CliRunner().invoke(cli, ["rerank", *args])


def as_csv(jsonl: bytes) -> bytes:
    """The CSV of the results in `jsonl`, row by row as `--format csv` writes it: one row per candidate,
    ranked ones with their 1-based rank, removed ones with the reason."""
    text = io.StringIO()
    table = csv.DictWriter(text, fieldnames=list(CSV_COLUMNS), lineterminator="\n")
    table.writeheader()
    for row in map(json.loads, jsonl.splitlines()):
        for rank, r in enumerate(row["ranking"], 1):
            table.writerow({"request_id": row["request_id"], "rank": rank, "item_id": r["item_id"],
                            "score": r["score"], "reasons": " | ".join(r["reasons"]),
                            "labels": " | ".join(r["labels"]), "removed": ""})
        for gone in row["removed"]:
            table.writerow({"request_id": row["request_id"], "rank": "", "item_id": gone["item_id"], "score": "",
                            "reasons": "", "labels": "", "removed": gone["reason"]})
    return text.getvalue().encode()


def test_ray_writes_what_the_local_engine_writes(cluster: None, store: Store, profiles_dir: Path,
                                                 tmp_path: Path) -> None:
    store.import_profile(load_profile_file(profiles_dir / "maya.toml"))
    source = tmp_path / "in.jsonl"
    body = lines("warm", 30)
    body.insert(7, '{"request_id": "broken", "candidates": [')
    body.insert(12, "[" * 2000)
    source.write_text("\n".join(body) + "\n")
    common = ("-i", str(source), "--profile", "maya", "--skip-invalid", "--top", "6")
    outputs = {}
    # One Ray run (each starts its actors, and each actor loads the embedding model), in JSONL: the format
    # that holds everything CSV does (and the notes). Both engines hand their results to the same writer in
    # the driver, so the CSV of Ray's results is its JSONL written row by row (`as_csv`), and it must be the
    # local engine's CSV byte for byte.
    for engine, fmt in (("local", "jsonl"), ("local", "csv"), ("ray", "jsonl")):
        out = tmp_path / f"{engine}.{fmt}"
        res = rerank(*common, "--format", fmt, "-o", str(out), "--engine", engine,
                     *(("--actors", "2") if engine == "ray" else ()))
        assert res.exit_code == 0, res.output
        assert "skipped line 8: not valid JSON" in res.stderr and "skipped line 13: nested more than" in res.stderr
        outputs[engine, fmt] = out.read_bytes()
    assert outputs["ray", "jsonl"] == outputs["local", "jsonl"]
    assert as_csv(outputs["ray", "jsonl"]) == outputs["local", "csv"]
    got = [json.loads(x) for x in outputs["ray", "jsonl"].splitlines()]
    assert [r["request_id"] for r in got] == [f"warm{n}" for n in range(30)]
    assert all(len(r["ranking"]) <= 6 and len(r["ranking"]) + len(r["removed"]) == 12 for r in got)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "shieldrec-home") == \
        ["in.jsonl", "local.csv", "local.jsonl", "ray.jsonl"]


def test_ray_actors_encode_new_texts_and_the_driver_stores_them(cluster: None, store: Store, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines("cold", 24)) + "\n")
    assert store.embeddings.count() == 0
    first = rerank("-i", str(source), "-o", str(tmp_path / "ray.jsonl"), "--engine", "ray", "--actors", "2")
    assert first.exit_code == 0, first.output
    stored = store.embeddings.count()
    assert stored > 24  # what the actors encoded reached the cache, through the driver
    # without --profile, the vectors the actors encoded or read are no profile's: the driver records no owner
    assert store.db.execute("SELECT COUNT(*) FROM embedding_owners").fetchone()[0] == 0
    second = rerank("-i", str(source), "-o", str(tmp_path / "local.jsonl"))
    assert second.exit_code == 0, second.output
    assert store.embeddings.count() == stored  # the local run found every vector stored
    ray_rows = [json.loads(x) for x in (tmp_path / "ray.jsonl").read_text().splitlines()]
    local_rows = [json.loads(x) for x in (tmp_path / "local.jsonl").read_text().splitlines()]
    assert [r["request_id"] for r in ray_rows] == [r["request_id"] for r in local_rows]
    for a, b in zip(ray_rows, local_rows):
        assert a["removed"] == b["removed"]
        scores_a = {r["item_id"]: r["score"] for r in a["ranking"]}
        scores_b = {r["item_id"]: r["score"] for r in b["ranking"]}
        assert scores_a.keys() == scores_b.keys()
        assert all(abs(scores_a[k] - scores_b[k]) < 1e-5 for k in scores_a)


def test_ray_refuses_the_language_model_and_stray_options(store: Store) -> None:
    assert "--with-llm runs on the local engine only" in rerank("--engine", "ray", "--with-llm").output
    assert "--address and --actors go with --engine ray" in rerank("--actors", "2").output


def test_vectors_a_profiles_run_used_are_that_profiles_as_on_the_local_engine_and_go_with_it(
        cluster: None, profiles_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = lines("owned", 12)
    earlier, source = tmp_path / "earlier.jsonl", tmp_path / "in.jsonl"
    earlier.write_text("\n".join(body[:6]) + "\n")
    source.write_text("\n".join(body) + "\n")
    counts = {}
    for engine in ("local", "ray"):
        monkeypatch.setenv("SHIELDREC_HOME", str(tmp_path / f"home-{engine}"))
        store = Store()
        maya = store.import_profile(load_profile_file(profiles_dir / "maya.toml"))
        # One actor: which vectors are maya's does not depend on how many there are (several actors, and an
        # anonymous Ray run's vectors left unowned, are the test above's); the anonymous run that stores some
        # vectors first runs locally, so both engines start maya's run from the same cache.
        ray_args = ("--engine", "ray", "--actors", "1") if engine == "ray" else ()
        anonymous = rerank("-i", str(earlier), "-o", str(tmp_path / f"anonymous-{engine}.jsonl"))
        assert anonymous.exit_code == 0, anonymous.output
        before = store.embeddings.count()
        res = rerank("-i", str(source), "-o", str(tmp_path / f"{engine}.jsonl"), "--profile", "maya", *ray_args)
        assert res.exit_code == 0, res.output
        stored = store.embeddings.count()
        owned = store.db.execute("SELECT COUNT(*) FROM embedding_owners WHERE profile_id = ?",
                                 [maya.id]).fetchone()[0]
        assert 0 < before < stored and before < owned <= stored  # read from the cache, and encoded anew
        forgotten = CliRunner().invoke(cli, ["profile", "forget", "maya", "--yes"])
        assert forgotten.exit_code == 0, forgotten.output
        counts[engine] = (stored, owned, store.embeddings.count())
    # the vectors maya's run read or encoded are hers on Ray as on the local engine, and forget takes them all
    assert counts["ray"] == counts["local"]
    assert counts["ray"][2] == counts["ray"][0] - counts["ray"][1]

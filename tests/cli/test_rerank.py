"""`shieldrec rerank` as a script uses it: the JSONL contract end to end, with the real model."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner, Result

from shieldrec.cli import cli
from shieldrec.ranking import Embedder
from shieldrec.store import Store

pytestmark = pytest.mark.slow  # real servers, processes or the embedding model

MOVIES = [
    ("m1", "Interstellar", "Explorers travel through a wormhole to find humanity a new home.", ["Science Fiction"]),
    ("m2", "The Conjuring", "Paranormal investigators help a family terrorised by a dark presence.", ["Horror"]),
    ("m3", "Paddington", "A polite bear from Peru finds a family in London.", ["Family", "Comedy"]),
    ("m4", "Apollo 13", "Astronauts improvise their way home after an explosion in space.", ["Drama", "History"]),
    ("m5", "Hereditary", "A grieving family is haunted by something terrifying.", ["Horror"]),
    ("m6", "WALL-E", "A lonely robot cleaning an abandoned Earth falls in love.", ["Animation", "Science Fiction"]),
    ("m7", "The Martian", "An astronaut stranded on Mars survives with science and humour.", ["Science Fiction"]),
    ("m8", "Twilight", "A teenager falls for a vampire.", ["Romance", "Fantasy"]),
]


def movie(i: int, **extra: Any) -> dict[str, Any]:
    item_id, title, text, genres = MOVIES[i]
    return {"item_id": item_id, "title": title, "text": text, "meta": {"genres": genres}, **extra}


def request(rid: str, cands: Sequence[int], **extra: Any) -> dict[str, Any]:
    return {"request_id": rid, "candidates": [movie(i) for i in cands], **extra}


def jsonl(*lines: Any) -> str:
    return "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)


def rerank(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, ["rerank", *args], input=stdin)


def results(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def accounted(result: dict[str, Any]) -> list[str]:
    return [r["item_id"] for r in result["ranking"]] + [r["item_id"] for r in result["removed"]]


def leftovers(folder: Path) -> list[str]:
    """What a run left in `folder` (the test's own SHIELDREC_HOME lives there too)."""
    return sorted(p.name for p in folder.iterdir() if p.name != "shieldrec-home")


@pytest.fixture
def requests_file(tmp_path: Path) -> Path:
    path = tmp_path / "requests.jsonl"
    path.write_text(jsonl(
        request("first", [0, 1, 2, 3], instruction="something about space, no horror",
                history=[{"item_id": "m7", "title": "The Martian", "event": "liked"}]),
        request("second", [4, 5, 6, 7]),
        "",  # blank lines are allowed
        request("third", [2, 0], instruction="a family film"),
    ))
    return path


def test_every_candidate_once_in_input_order(requests_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    res = rerank("--input", str(requests_file), "--output", str(out))
    assert res.exit_code == 0, res.output
    got = results(out.read_text("utf-8"))
    assert [r["request_id"] for r in got] == ["first", "second", "third"]
    for r, cands in zip(got, ([0, 1, 2, 3], [4, 5, 6, 7], [2, 0]), strict=True):
        assert sorted(accounted(r)) == sorted(MOVIES[i][0] for i in cands)
        assert len(accounted(r)) == len(set(accounted(r)))
        for ranked in r["ranking"]:
            assert isinstance(ranked["score"], float) and ranked["reasons"] and isinstance(ranked["labels"], list)
    first = got[0]
    # "no horror" removes the Horror-tagged film, with a reason that says so; space comes first.
    assert {x["item_id"]: x["reason"] for x in first["removed"]}["m2"].lower().count("horror")
    assert first["ranking"][0]["item_id"] in ("m1", "m4")
    scores = [x["score"] for x in got[1]["ranking"]]
    assert len(scores) == 4
    assert leftovers(tmp_path) == ["out.jsonl", "requests.jsonl"]


def test_top_cuts_the_ranking_but_accounts_for_every_candidate(requests_file: Path) -> None:
    res = rerank("-i", str(requests_file), "--top", "2")
    assert res.exit_code == 0, res.output
    for r in results(res.stdout):
        assert len(r["ranking"]) <= 2
        assert len(accounted(r)) == len(set(accounted(r)))
    second = results(res.stdout)[1]
    assert len(second["ranking"]) == 2
    assert sorted(accounted(second)) == ["m5", "m6", "m7", "m8"]
    assert [x["reason"] for x in second["removed"]] == ["below top 2", "below top 2"]


def test_json_and_csv_formats(requests_file: Path) -> None:
    res = rerank("-i", str(requests_file), "--format", "json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [r["request_id"] for r in doc] == ["first", "second", "third"]

    res = rerank("-i", str(requests_file), "--format", "csv", "--top", "1")
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert list(rows[0]) == ["request_id", "rank", "item_id", "score", "reasons", "labels", "removed"]
    assert len(rows) == 4 + 4 + 2  # one row per candidate
    for rid in ("first", "second", "third"):
        mine = [r for r in rows if r["request_id"] == rid]
        assert [r["rank"] for r in mine if r["rank"]] == ["1"]
        assert all(r["removed"] for r in mine if not r["rank"])
    assert json.loads(rerank("-i", str(requests_file), "--format", "json", "--top", "1").stdout)[0]["ranking"][0][
        "item_id"] == next(r["item_id"] for r in rows if r["request_id"] == "first" and r["rank"] == "1")


def test_empty_input_gives_empty_output_in_every_format(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert rerank("-i", str(empty)).stdout == ""
    assert json.loads(rerank("-i", str(empty), "--format", "json").stdout) == []
    assert rerank("-i", str(empty), "--format", "csv").stdout.startswith("request_id,rank,item_id")


def test_stdin_to_stdout_with_dashes() -> None:
    res = rerank("--input", "-", "--output", "-", stdin=jsonl(request("only", [0, 2])))
    assert res.exit_code == 0, res.output
    (only,) = results(res.stdout)
    assert only["request_id"] == "only" and sorted(accounted(only)) == ["m1", "m3"]
    assert res.stderr == ""  # no progress bar when stderr is not a terminal


def test_a_request_without_candidates_is_answered_empty() -> None:
    res = rerank(stdin=jsonl({"request_id": "nothing", "candidates": []}))
    assert res.exit_code == 0, res.output
    assert results(res.stdout) == [{"request_id": "nothing", "ranking": [], "removed": []}]


BAD_LINES = {
    "invalid JSON": ('{"request_id": "x", "candidates": [', "not valid JSON"),
    "missing candidates": ({"request_id": "x"}, "'candidates' is missing"),
    "candidates not a list": ({"request_id": "x", "candidates": "m1"}, "'candidates' must be a list"),
    "item without title": ({"request_id": "x", "candidates": [{"item_id": "a"}]}, "candidate 1"),
    "request_id not a string": ({"request_id": ["x"], "candidates": []}, "'request_id' must be a string"),
    "history not a list": ({"request_id": "x", "candidates": [], "history": {"a": 1}}, "'history' must be a list"),
    "unknown event": ({"request_id": "x", "candidates": [], "history": [{"item_id": "h", "title": "H", "event": "loved"}]},
                      "unknown history event"),
    "instruction not a string": ({"request_id": "x", "candidates": [], "instruction": 5}, "'instruction' must be a string"),
    "not an object": ([1, 2, 3], "must be a JSON object"),
    "duplicate candidate": ({"request_id": "x", "candidates": [movie(0), movie(0)]}, "'m1' is listed twice"),
    "repeated request_id": ({"request_id": "a", "candidates": []}, "already used on line 1"),
    "NaN rating": ('{"request_id": "x", "candidates": [], "history": [{"item_id": "h", "title": "H", "rating": NaN}]}',
                   "not valid JSON"),
}


@pytest.mark.parametrize("name", list(BAD_LINES))
def test_a_bad_third_line_names_itself_and_writes_nothing(name: str, tmp_path: Path) -> None:
    bad, message = BAD_LINES[name]
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl(request("a", [0, 1]), request("b", [2]), bad, request("d", [3])))
    out = tmp_path / "out.jsonl"
    res = rerank("-i", str(source), "-o", str(out))
    assert res.exit_code == 1
    assert "line 3:" in res.output and message in res.output, res.output
    assert "Traceback" not in res.output
    assert not out.exists() and leftovers(tmp_path) == ["in.jsonl"]


def test_a_failed_run_leaves_an_earlier_output_file_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("earlier results\n")
    res = rerank("-o", str(out), stdin=jsonl(request("a", [0]), "{oops"))
    assert res.exit_code == 1 and "line 2:" in res.output
    assert out.read_text() == "earlier results\n" and leftovers(tmp_path) == ["out.jsonl"]


def test_invalid_bytes_are_reported_by_line(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(jsonl(request("a", [0])).encode() + b'{"request_id": "\xff"}\n')
    res = rerank("-i", str(source))
    assert res.exit_code == 1 and "line 2: not UTF-8" in res.output


def test_skip_invalid_reports_and_ranks_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    stdin = jsonl(request("a", [0, 1]), "not json", {"request_id": "c"}, request("d", [2, 3]))
    res = rerank("-o", str(out), "--skip-invalid", stdin=stdin)
    assert res.exit_code == 0, res.output
    assert [r["request_id"] for r in results(out.read_text())] == ["a", "d"]
    assert "skipped line 2: not valid JSON" in res.stderr
    assert "skipped line 3: 'candidates' is missing" in res.stderr
    assert "skipped 2 invalid line(s)" in res.stderr


def test_several_bad_lines_are_counted() -> None:
    res = rerank(stdin=jsonl("x", "y", request("a", [0]), "z"))
    assert res.exit_code == 1
    assert "line 1:" in res.output and "2 more invalid line(s): 2, 4" in res.output
    assert res.stdout == ""


def test_profile_applies_its_blocks_and_history(store: Store) -> None:
    from shieldrec.items import HistoryEvent, Item, Preference

    maya = store.create_profile("maya")
    store.add_preference(maya, Preference(kind="block", target="creator", value="Stephenie Meyer"))
    store.add_event(maya, HistoryEvent(item=Item(item_id="m6", title="WALL-E"), event="liked"))
    line = request("r", [7, 5, 0])
    line["candidates"][0]["creator"] = "Stephenie Meyer"

    res = rerank("--profile", "maya", stdin=jsonl(line))
    assert res.exit_code == 0, res.output
    removed = {x["item_id"]: x["reason"] for x in results(res.stdout)[0]["removed"]}
    assert "Stephenie Meyer" in removed["m8"] and "blocked" in removed["m8"]
    assert "already in your history" in removed["m6"]  # the stored history applies too

    res = rerank(stdin=jsonl(line))  # no profile: nothing stored applies
    (plain,) = results(res.stdout)
    assert plain["removed"] == [] and len(plain["ranking"]) == 3

    res = rerank("--profile", "nobody", stdin=jsonl(line))
    assert res.exit_code == 1 and "no profile named 'nobody'" in res.output


def test_inline_history_adds_to_the_profile(store: Store) -> None:
    store.create_profile("sam")
    line = request("r", [0, 2, 3], history=[{"item_id": "m3", "title": "Paddington", "event": "disliked"}])
    res = rerank("--profile", "sam", stdin=jsonl(line))
    assert res.exit_code == 0, res.output
    (only,) = results(res.stdout)
    assert [x["item_id"] for x in only["removed"]] == ["m3"]


def test_terminal_escapes_in_input_never_reach_the_output() -> None:
    line = request("r", [0, 3], history=[{"item_id": "h", "title": "Gravity\x1b]8;;http://x\x07 \x1b[31mRED", "event": "liked",
                                          "text": "Astronauts adrift in space after debris destroys their shuttle."}])
    res = rerank(stdin=jsonl(line))
    assert res.exit_code == 0, res.output
    assert "\x1b" not in res.stdout and "\\u001b" not in res.stdout


def test_output_folder_must_exist(tmp_path: Path) -> None:
    res = rerank("-o", str(tmp_path / "missing" / "out.jsonl"), stdin=jsonl(request("a", [0])))
    assert res.exit_code == 1 and "folder does not exist" in res.output and "Traceback" not in res.output


def test_each_distinct_text_is_encoded_once_across_many_requests(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    sent: list[str] = []
    real = Embedder._encode_with_model

    def counting(self: Embedder, texts: list[str], keeps: dict[str, Any]) -> tuple[np.ndarray, dict[Any, np.ndarray]]:
        sent.extend(texts)
        return real(self, texts, keeps)

    monkeypatch.setattr(Embedder, "_encode_with_model", counting)
    monkeypatch.setattr("shieldrec.batch.BATCH_SIZE", 7)  # several batches, so reuse must cross them
    rng = np.random.default_rng(3)
    lines = []
    for n in range(40):
        cands = [int(i) for i in rng.choice(len(MOVIES), size=5, replace=False)]
        hist = [{"item_id": MOVIES[i][0], "title": MOVIES[i][1], "text": MOVIES[i][2], "event": "liked",
                 "meta": {"genres": MOVIES[i][3]}} for i in range(len(MOVIES)) if i not in cands][:2]
        lines.append(request(f"r{n}", cands, history=hist, instruction=["", "no horror", "space"][n % 3]))
    source = tmp_path / "many.jsonl"
    source.write_text(jsonl(*lines))

    res = rerank("-i", str(source), "-o", str(tmp_path / "out.jsonl"))
    assert res.exit_code == 0, res.output
    assert len(results((tmp_path / "out.jsonl").read_text())) == 40
    assert sent and len(sent) == len(set(sent))  # no text went to the model twice
    # The movies, each also as its title and genres alone (the passage check reads a short
    # description against them), the instructions and what they parse into.
    assert len(sent) <= 2 * len(MOVIES) + 4
    stored = Store()
    assert stored.embeddings.count() == len(sent)

    sent.clear()  # a second run finds everything in the cache
    assert rerank("-i", str(source), "-o", str(tmp_path / "again.jsonl")).exit_code == 0
    assert sent == []
    assert (tmp_path / "again.jsonl").read_text() == (tmp_path / "out.jsonl").read_text()


def test_a_repeated_bad_item_is_reported_on_every_line_it_appears() -> None:
    bad = {"request_id": "x", "candidates": [{"item_id": "a", "title": ""}]}
    res = rerank("--skip-invalid", stdin=jsonl({**bad, "request_id": "1"}, request("2", [0]), {**bad, "request_id": "3"}))
    assert res.exit_code == 0, res.output
    assert "skipped line 1: candidate 1" in res.stderr and "skipped line 3: candidate 1" in res.stderr
    assert [r["request_id"] for r in results(res.stdout)] == ["2"]


def test_history_entries_may_nest_their_item_and_share_it_across_lines() -> None:
    nested = {"item": {"item_id": "m3", "title": "Paddington"}, "event": "rated", "rating": 5}
    flat = {"item_id": "m3", "title": "Paddington", "event": "skipped"}
    res = rerank(stdin=jsonl(request("a", [0, 2], history=[nested]), request("b", [0, 2], history=[flat]),
                             request("c", [0, 2], history=[{**nested, "rating": "five"}])))
    assert res.exit_code == 1 and "line 3: history entry 1: 'rating' must be a number" in res.output
    res = rerank("--skip-invalid", stdin=jsonl(request("a", [0, 2], history=[nested]),
                                               request("b", [0, 2], history=[flat])))
    a, b = results(res.stdout)
    assert a["removed"] == [{"item_id": "m3", "reason": "removed: already in your history (you rated it 5)"}]
    assert b["removed"] == []  # skipping something is not having seen it


def test_the_readme_example_for_maya(profiles_dir: Path) -> None:
    """The request file the README runs: maya's blocks, her "no horror", ads and an injection."""
    imported = CliRunner().invoke(cli, ["profile", "import", str(profiles_dir / "maya.toml")])
    assert imported.exit_code == 0, imported.output
    out = rerank("--profile", "maya", "--input", str(profiles_dir / "requests.jsonl"))
    assert out.exit_code == 0, out.output
    film, book = results(out.stdout)
    assert [film["request_id"], book["request_id"]] == ["evening-film", "train-reading"]
    removed = {r["item_id"]: r["reason"] for res in (film, book) for r in res["removed"]}
    assert "horror" in removed["movie-a"] and "Stephenie Meyer" in removed["book-a"]
    order = {res["request_id"]: [r["item_id"] for r in res["ranking"]] for res in (film, book)}
    labels = {r["item_id"]: r["labels"] for res in (film, book) for r in res["ranking"]}
    assert "sponsored" in labels["movie-c"] and "native ad?" in labels["book-c"]
    assert "injection attempt" in labels["movie-f"] and order["evening-film"][-1] == "movie-f"
    # The two films made for maya's taste lead; the paid placements trail every honest book.
    assert set(order["evening-film"][:2]) == {"movie-b", "movie-d"}
    assert order["train-reading"][-1] == "book-c"


def test_a_limit_the_candidates_cannot_show_is_named_in_the_output() -> None:
    timed = movie(0, meta={"genres": ["Science Fiction"], "runtime_minutes": 169})
    res = rerank("--input", "-", stdin=jsonl(
        {"request_id": "length", "instruction": "something hopeful under 2 hours", "candidates": [timed, movie(2)]},
        {"request_id": "plain", "instruction": "something hopeful", "candidates": [movie(0), movie(2)]},
    ))
    assert res.exit_code == 0, res.output
    length, plain = results(res.stdout)
    assert length["removed"] == [{"item_id": "m1", "reason": "removed: 169 min, longer than the 120 you asked for"}]
    assert length["notes"] == ["'under 120 minutes' could not be checked for 1 of 2 candidates "
                               "(no running time known); those were kept"]
    assert "notes" not in plain  # nothing to say: the key stays out


def test_a_progress_bar_shows_on_a_terminal(tmp_path: Path, shieldrec_home: Path) -> None:
    """stderr on a real pseudo-terminal, as in a person's shell: the bar is drawn there, the output stays clean."""
    import os
    import pty
    import subprocess
    import sys

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(request(f"r{n}", [1, 2, 3])) + "\n" for n in range(6)))
    out = tmp_path / "out.jsonl"
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-c", "from shieldrec.cli import main; main()", "rerank",
                                 "-i", str(source), "-o", str(out)], stderr=follower, stdout=subprocess.DEVNULL,
                                env={**os.environ, "SHIELDREC_HOME": str(shieldrec_home)})
        os.close(follower)
        seen = b""
        while True:  # until the process closes its end of the terminal
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the other end is closed
                break
            if not chunk:
                break
            seen += chunk
        assert proc.wait(timeout=300) == 0, seen.decode(errors="replace")
    finally:
        os.close(leader)
    text = seen.decode(errors="replace")
    assert "re-ranking" in text and "100%" in text, text
    assert [json.loads(line)["request_id"] for line in out.read_text().splitlines()] == [f"r{n}" for n in range(6)]

"""`shieldrec rerank` against hostile and careless input: deep nesting, huge lines, odd output
targets, SIGTERM mid-run, ids of the wrong kind. Each is a clear message or a clean result,
never a traceback, never memory that grows with the input, never a stray file."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from shieldrec.cli import cli

GOOD = {"request_id": "ok", "candidates": [{"item_id": "a", "title": "Arrival"}, {"item_id": "b", "title": "Up"}]}


def rerank(*args: str, stdin: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, ["rerank", *args], input=stdin)


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def line(obj: Any) -> str:
    return (obj if isinstance(obj, str) else json.dumps(obj)) + "\n"


DEEP_LINES = {
    "the whole line": nested(1500),
    "a candidate's meta": '{"request_id": "d", "candidates": [{"item_id": "x", "title": "X", "meta": {"deep": '
                          + nested(990) + "}}]}",
    "an item id": '{"request_id": "d", "candidates": [{"item_id": ' + nested(950) + ', "title": "X"}]}',
    "a title": '{"request_id": "d", "candidates": [{"item_id": "x", "title": ' + nested(980, '"t"') + "}]}",
}


@pytest.mark.parametrize("where", list(DEEP_LINES))
def test_deep_nesting_is_a_clear_error_for_its_line(where: str) -> None:
    res = rerank(stdin=line(GOOD) + line(DEEP_LINES[where]))
    assert res.exit_code == 1
    assert "line 2: nested more than 64 levels deep" in res.output, res.output
    assert "Traceback" not in res.output and "RecursionError" not in res.output


@pytest.mark.slow
def test_deep_nesting_with_skip_invalid_ranks_the_rest() -> None:
    res = rerank("--skip-invalid", stdin=line(DEEP_LINES["the whole line"]) + line(GOOD) + line(DEEP_LINES["a title"]))
    assert res.exit_code == 0, res.output
    assert [json.loads(x)["request_id"] for x in res.stdout.splitlines()] == ["ok"]
    assert "skipped line 1: nested more than 64 levels deep" in res.stderr
    assert "skipped line 3: nested more than 64 levels deep" in res.stderr


def test_a_float_item_id_says_what_is_wrong_with_it() -> None:
    bad = {"request_id": "f", "candidates": [{"item_id": "a", "title": "A"}, {"item_id": 1.5, "title": "B"}]}
    res = rerank(stdin=line(bad))
    assert res.exit_code == 1
    assert "line 1: candidate 2: 'item_id' should be text or a whole number, got a number with a fraction (1.5)" \
        in res.output, res.output


def test_a_platform_sending_a_float_id_gets_the_same_words() -> None:
    from shieldrec.errors import PlatformError
    from shieldrec.platforms.responses import item_from

    with pytest.raises(PlatformError, match=r"'id' \(at 'id'\) should be text or a whole number, got a number "
                                            r"with a fraction \(2.5\)"):
        item_from({"id": 2.5, "title": "T"}, platform="shop")


# -- memory: the line cap holds while reading --------------------------------------------------

PEAK_PROBE = """
import resource, sys
from shieldrec.cli import cli
try:
    cli.main(args=sys.argv[1:], prog_name="shieldrec", standalone_mode=False)
except Exception as exc:
    print(type(exc).__name__, exc, file=sys.stderr)
print("PEAK_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def peak_rss_mb(chunks: list[tuple[bytes, int]], *args: str, env: dict[str, str]) -> tuple[float, str]:
    """Run rerank in a fresh interpreter fed by a pipe (each chunk repeated n times); its own peak RSS."""
    proc = subprocess.Popen([sys.executable, "-c", PEAK_PROBE, "rerank", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)

    def feed() -> None:
        assert proc.stdin is not None
        try:
            for chunk, times in chunks:
                for _ in range(times):
                    proc.stdin.write(chunk)
        except BrokenPipeError:
            pass
        finally:
            proc.stdin.close()

    writer = threading.Thread(target=feed)
    writer.start()
    assert proc.stderr is not None
    text = proc.stderr.read().decode()
    proc.stderr.close()
    proc.wait(timeout=300)
    writer.join()
    kb = [int(x.split()[1]) for x in text.splitlines() if x.startswith("PEAK_KB")]
    assert kb, text
    return kb[0] / 1024, text


@pytest.mark.slow
def test_memory_stays_bounded_for_huge_lines(shieldrec_home: Path) -> None:
    env = {**os.environ, "SHIELDREC_HOME": str(shieldrec_home)}
    mb = b"x" * (1024 * 1024)
    base, _ = peak_rss_mb([(b"{bad}\n", 1)], env=env)
    # 200 MB on one line, then a good line: the long one is reported, the rest still read.
    peak, err = peak_rss_mb([(mb, 200), (b"\n" + line(GOOD).encode(), 1)], "--skip-invalid", env=env)
    assert "skipped line 1: longer than 16 MB (209,715,201 bytes)" in err, err
    assert peak - base < 60, f"a 200 MB line raised the peak from {base:.0f} MB to {peak:.0f} MB"
    # 1 GB and no newline at all.
    peak, err = peak_rss_mb([(mb, 1024)], env=env)
    assert "line 1: longer than 16 MB (1,073,741,824 bytes)" in err, err
    assert peak - base < 60, f"a 1 GB line raised the peak from {base:.0f} MB to {peak:.0f} MB"


# -- where the output goes ---------------------------------------------------------------------

@pytest.mark.slow
def test_output_to_a_named_pipe_writes_into_the_pipe(tmp_path: Path) -> None:
    fifo = tmp_path / "results.pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    try:
        res = rerank("-o", str(fifo), stdin=line(GOOD))
    finally:
        if reader.is_alive():  # a run that never opened the pipe: release the reader
            with open(fifo, "wb"):
                pass
        reader.join(10)
    assert res.exit_code == 0, res.output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the pipe was replaced"
    assert [json.loads(x)["request_id"] for x in got[0].splitlines()] == ["ok"]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "shieldrec-home") == ["results.pipe"]


@pytest.mark.slow
def test_output_to_a_device_writes_to_the_device(tmp_path: Path) -> None:
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    except (PermissionError, OSError) as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    res = rerank("-o", str(device), stdin=line(GOOD))
    assert res.exit_code == 0, res.output
    assert stat.S_ISCHR(os.stat(device).st_mode), "the device was replaced by a file"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "shieldrec-home") == ["null"]


@pytest.mark.slow
def test_sigterm_mid_run_leaves_no_temporary_file(tmp_path: Path, shieldrec_home: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("".join(line({"request_id": f"r{i}", "candidates": [
        {"item_id": f"c{i}-{k}", "title": f"A film about topic number {i} and {k}"} for k in range(20)]})
        for i in range(400)))
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "SHIELDREC_HOME": str(shieldrec_home)}
    proc = subprocess.Popen([sys.executable, "-c", "from shieldrec.cli import main; main()", "rerank", "-i", str(source), "-o", str(out)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".out.jsonl.*.tmp")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never started writing"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0
    assert b"Traceback" not in err, err.decode()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "shieldrec-home") == ["in.jsonl"]

"""Helpers every CLI module shares: opening the store, choosing the profile, output formats."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from shieldrec.errors import ShieldRecError
from shieldrec.settings import Settings

if TYPE_CHECKING:
    from shieldrec.store import Profile, Store

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("jsonl", "json", "csv")

# One convention for every command: data streams (rerank, eval) write jsonl|json|csv; lists
# print a table by default and jsonl|json|csv on request; one thing shown prints text or json.
format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="jsonl", show_default=True, help="Output format."
)
LIST_FORMATS = ("table", *FORMATS)
list_format_option = click.option(
    "--format", "fmt", type=click.Choice(LIST_FORMATS), default="table", show_default=True, help="Output format."
)
SHOW_FORMATS = ("text", "json")
profile_option = click.option("--profile", "-p", "profile_name", default=None, help="Profile (default: the usual one).")


def show_format_option(fn: F) -> F:
    """`--format text|json`, with `--json` kept as the older spelling of `--format json`."""
    fn = click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --format json.")(fn)
    return click.option("--format", "fmt", type=click.Choice(SHOW_FORMATS), default="text", show_default=True,
                        help="Output format.")(fn)


def wants_json(fmt: str, as_json: bool) -> bool:
    return as_json or fmt == "json"


def _table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    from shieldrec.sanitize import clean_text

    cells = [[clean_text(row.get(c, ""), 120) if row.get(c) is not None else "" for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip())
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())


def emit(rows: list[dict[str, Any]], fmt: str, columns: list[str], empty: str) -> None:
    """A list as a table (`columns`, or `empty` when there is nothing) or as jsonl|json|csv rows."""
    if fmt != "table":
        write_rows(rows, fmt, sys.stdout)
    elif not rows:
        click.echo(empty)
    else:
        _table(rows, columns)


@contextmanager
def errors_as_click() -> Iterator[None]:
    """Inside: small exception classes. At the edge: one readable line, no traceback."""
    try:
        yield
    except ShieldRecError as exc:
        raise click.ClickException(str(exc)) from None


def open_store() -> Store:
    # Imported here: sqlite-utils pulls in pandas, which commands that never open the store
    # (and the terminal app's first paint) should not wait for.
    from shieldrec.store import Store

    with errors_as_click():
        store = Store()
    # Closed when the command ends (WAL checkpoint, no connection left to the garbage collector).
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(store.close)
    return store


def resolve_profile(store: Store, name: str | None) -> Profile:
    """The named profile, else the configured default, else the only one there is."""
    with errors_as_click():
        if name:
            return store.profile(name)
        default = Settings.load().profile
        if default:
            return store.profile(default)
        profiles = store.profiles()
        if len(profiles) == 1:
            return profiles[0]
    if not profiles:
        raise click.ClickException("no profile yet: create one with `shieldrec profile create NAME`")
    raise click.ClickException(
        "several profiles exist; name one with --profile (" + ", ".join(p.name for p in profiles) + ")"
    )


def write_rows(rows: Iterable[dict[str, Any]], fmt: str, out: IO[str]) -> None:
    """Rows as JSON lines, one JSON array, or CSV (nested values JSON-encoded)."""
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif fmt == "json":
        json.dump(list(rows), out, ensure_ascii=False, indent=2)
        out.write("\n")
    else:
        rows = list(rows)
        if not rows:
            return
        columns = list(dict.fromkeys(k for row in rows for k in row))
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in row.items()})


class Terminated(SystemExit):
    """SIGTERM, raised where the program is so that cleanup runs as it does for Ctrl-C."""


@contextmanager
def _terminate_as_exception() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise Terminated(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def atomic_output(target: str, *, binary: bool = False) -> Iterator[IO[Any]]:
    """Write to a temporary file beside `target` and rename it into place only on success,
    so a failure (an error, Ctrl-C, SIGTERM) never leaves a partial output file or a stray
    temporary one. `-` means stdout. Only a regular file (or nothing) at `target` is replaced:
    a named pipe or a device there (/dev/null, /dev/stdout) is written in place."""
    if target == "-":
        out = sys.stdout.buffer if binary else sys.stdout
        yield out
        out.flush()
        return
    path = Path(target)
    try:
        existing = os.stat(path).st_mode
    except FileNotFoundError:
        existing = None
    except OSError:
        existing = None  # unreadable metadata: the rename below reports the real problem
    if existing is not None and not stat.S_ISREG(existing):
        with open(path, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})) as fh:
            yield fh
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent or Path(".")))
    try:
        with _terminate_as_exception():
            if binary:
                with io.open(fd, "wb") as bfh:
                    yield bfh
            else:
                with io.open(fd, "w", encoding="utf-8", newline="") as fh:
                    yield fh
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""`shieldrec rerank`: re-rank JSONL requests from a file or a pipe, for scripts.

Kept free of textual and of anything the terminal app needs; torch loads only when the
first text has to be encoded.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

import click

from shieldrec.batch import Parsed, ResultWriter, build_ranker, parse_lines, rank_all, read_lines, with_profile
from shieldrec.cli.common import atomic_output, errors_as_click, format_option, open_store, resolve_profile
from shieldrec.items import HistoryEvent, Preference
from shieldrec.ranking.types import RankRequest
from shieldrec.settings import RANKERS, Settings

_SHOWN_ERRORS = 5


@contextmanager
def _open_input(path: str) -> Iterator[BinaryIO]:
    if path == "-":
        yield sys.stdin.buffer
        return
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below; binary so each line decodes on its own
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    with fh:
        yield fh


def _check_errors(parsed: Parsed, skip_invalid: bool) -> None:
    if not parsed.errors:
        return
    if not skip_invalid:
        first, rest = parsed.errors[0], parsed.errors[1:]
        more = ""
        if rest:
            lines = ", ".join(str(e.line) for e in rest[:_SHOWN_ERRORS])
            lines += ", …" if len(rest) > _SHOWN_ERRORS else ""
            more = f"\n{len(rest)} more invalid line(s): {lines}"
        raise click.ClickException(f"{first}{more}\nNothing was written; --skip-invalid ranks the valid lines.")
    for err in parsed.errors:
        click.echo(f"skipped {err}", err=True)


@click.command()
@click.option("--input", "-i", "input_path", default="-", show_default=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="JSONL requests, one a line; - reads standard input.")
@click.option("--output", "-o", default="-", show_default=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="Where the results go; - writes standard output. A file appears only when every request is done.")
@click.option("--profile", "-p", "profile_name", default=None,
              help="Apply this profile's preferences, blocks and history. Without it, none apply.")
@format_option
@click.option("--top", type=click.IntRange(min=1), default=None, help="Keep N items in each ranking.")
@click.option("--skip-invalid", is_flag=True, help="Report invalid lines on stderr and rank the rest.")
@click.option("--with-llm", is_flag=True,
              help="Add the local language model (settings: `shieldrec models`): likelihood scoring, and with a "
                   "chat model listwise re-ranking. Slow on a CPU: about half a second per candidate. A model that "
                   "cannot load is reported and the ranking goes on without it.")
@click.option("--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: this process. ray: a Ray cluster, an actor pool that loads the models once per actor "
                   "(needs `pip install 'shieldrec[ray]'`). The output is the same byte for byte.")
@click.option("--address", default=None, metavar="ADDR",
              help="With --engine ray: the cluster to join (e.g. ray://head:10001 or auto); default: a local one.")
@click.option("--actors", type=click.IntRange(min=1), default=None,
              help="With --engine ray: ranking actors (default: one per CPU the cluster has, at most 8).")
@click.option("--ranker", "ranker_name", type=click.Choice(RANKERS), default=None,
              help="Score with the learned ranker or the hand-set fusion (default: the settings', learned).")
@click.option("--popularity", type=click.FloatRange(0.0, 1.0), default=None,
              help="How much the candidates' public counts may count, 0 (not at all) to 1 (default: the settings').")
def rerank(input_path: str, output: str, profile_name: str | None, fmt: str, top: int | None, skip_invalid: bool,
           with_llm: bool, engine: str, address: str | None, actors: int | None, ranker_name: str | None,
           popularity: float | None) -> None:
    """Re-rank candidate lists from JSONL requests, one result per request, in input order.

    \b
    Each input line is one request:
      {"request_id": "r1", "instruction": "something hopeful, no horror",
       "history": [{"item_id": "m1", "title": "...", "text": "...", "event": "liked", "rating": 5}],
       "candidates": [{"item_id": "c1", "title": "...", "text": "...", "creator": "...",
                       "source": "...", "sponsored": false, "meta": {"genres": ["Drama"]}}]}
    Only request_id and candidates are required. Events: liked, disliked, skipped,
    consumed, rated, not_now. Inline history adds to the profile's (with --profile)
    or is the only history (without). Blank lines are skipped.

    \b
    A request is invalid, and named by its line number, when it is not a JSON object,
    lacks request_id or candidates, has a field of the wrong type, repeats a request_id
    used on an earlier line, or lists the same candidate item_id twice. Invalid lines stop
    the run before anything is written (exit status 1), unless --skip-invalid is given.

    \b
    Output (jsonl: one object a line; json: one array of them):
      {"request_id": "r1", "ranking": [{"item_id", "score", "reasons", "labels"}, ...],
       "removed": [{"item_id", "reason"}, ...], "notes": ["..."]}
    Every candidate appears exactly once, in ranking or in removed; with --top N the
    ones cut are in removed with the reason "below top N". "notes" (present only when
    there is something to say) names each constraint of the instruction that the
    candidates' metadata did not let ShieldRec apply to all of them.
    csv: one row per candidate: request_id, rank (1-based; empty when removed), item_id,
    score, reasons and labels (joined with " | "), removed (the reason, when removed).
    """
    if engine != "ray" and (address is not None or actors is not None):
        raise click.UsageError("--address and --actors go with --engine ray")
    if engine == "ray" and with_llm:
        raise click.UsageError("--with-llm runs on the local engine only")
    with errors_as_click():
        settings = Settings.load()
        if ranker_name is not None:
            settings.ranking.ranker = ranker_name
        if popularity is not None:
            settings.ranking.popularity = popularity
        with _open_input(input_path) as fh:
            parsed = parse_lines(read_lines(fh))
    _check_errors(parsed, skip_invalid)
    requests: list[RankRequest] = [r for _, r in parsed.requests]
    store = open_store()
    owner = None
    history: list[HistoryEvent] = []
    preferences: list[Preference] = []
    if profile_name is not None:
        profile = resolve_profile(store, profile_name)
        owner = profile.id
        history, preferences = store.history(profile), store.preferences(profile)
    if output != "-" and not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise click.ClickException(f"cannot write {output}: its folder does not exist")
    try:
        with errors_as_click(), _llm_reports(settings, with_llm):
            if engine == "ray":
                from shieldrec.batch_ray import rank_on_ray

                results = rank_on_ray(requests, settings, store, (history, preferences), owner=owner, top=top, address=address,
                                      actors=actors)
            else:
                ranker, note = build_ranker(settings, store, with_llm=with_llm, owner=owner)
                if with_llm:
                    click.echo(f"language model: {note}", err=True)
                results = None
                if history or preferences:
                    requests = [with_profile(r, history, preferences) for r in requests]
            with atomic_output(output, binary=True) as out, _progress(len(requests)) as advance:
                writer = ResultWriter(fmt, out)
                if results is None:
                    results = rank_all(ranker, requests, top=top, progress=advance)
                for result in results:
                    writer.write(result)
                writer.finish()
    except BrokenPipeError:
        # The reader went away (`| head`); there is no one left to tell.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
    finally:
        store.close()
    if parsed.errors:
        click.echo(f"ranked {len(requests)} request(s); skipped {len(parsed.errors)} invalid line(s)", err=True)


@contextmanager
def _llm_reports(settings: Settings, with_llm: bool) -> Iterator[None]:
    """With the language model: one stderr line each time it stops (and when it gives up),
    instead of a warning for every request ranked without it."""
    if not with_llm:
        yield
        return
    from shieldrec.llm.registry import reported

    settings.llm.enabled = True  # asked for by name on the command line
    with reported(settings.llm, lambda: sys.stderr):
        yield


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr, only when a person is watching it."""
    if total == 0 or not sys.stderr.isatty():
        yield None
        return
    with click.progressbar(length=total, label="re-ranking", file=sys.stderr) as bar:
        yield bar.update

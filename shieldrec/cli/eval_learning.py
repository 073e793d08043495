"""`shieldrec eval learning`: learning curves of simulated users, with a PNG plot."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from shieldrec.cli.common import errors_as_click
from shieldrec.settings import Settings


@click.command("learning")
@click.option("--data", type=click.Path(file_okay=False), default=None,
              help="The folder holding ml-latest-small; default: $SHIELDREC_DATA, else ../shared/data.")
@click.option("--dataset", "datasets", multiple=True, help="Only this data set (repeatable; default: both).")
@click.option("--users", type=click.IntRange(min=1), default=60, show_default=True,
              help="Simulated users per data set (a seeded sample of its test users).")
@click.option("--rounds", type=click.IntRange(min=1, max=30), default=8, show_default=True,
              help="Rounds of showing 10 items and taking the user's ratings of them back.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Where to save the PNG (default: learning-curves.png in the cache folder).")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"curves": {method: [ndcg per round]}, "events": [...]} per data set as JSON.')
def learning(data: str | None, datasets: tuple[str, ...], users: int, rounds: int, seed: int,
             plot_path: Path | None, as_json: bool) -> None:
    """Does a profile learn from its own user? NDCG@10 against the number of feedback events.

    \b
    Simulated users on MovieLens-100K and ml-latest-small (their test users): each starts from
    3 stated likes; each round the learned prior shows 10 movies and the user's real ratings
    of them come back as feedback. After each round, on the user's held-out ratings:
    embedding-only, the hand-set pipeline, the learned prior, and the prior with the personal
    adaptation fitted on that feedback. Reported by round and by feedback events so far.
    """
    from shieldrec.eval import learning as L
    from shieldrec.eval.methods import EvalContext
    from shieldrec.paths import ensure_dir, get_paths

    unknown = [d for d in datasets if d not in L.DATASETS]
    if unknown:
        raise click.ClickException(f"unknown data set(s) {', '.join(map(repr, unknown))}; known: {', '.join(L.DATASETS)}")
    started = time.perf_counter()
    with errors_as_click():
        settings = Settings.load()
        cache = ensure_dir(get_paths().cache)
        ctx = EvalContext(seed=seed, settings=settings, vectors=cache / "eval-vectors.db")
        results = [L.run(name, ctx, users=users, rounds=rounds, data=data,
                         on_progress=lambda m: click.echo(f"{m}…", err=True))
                   for name in (datasets or L.DATASETS)]
        path = L.plot(results, plot_path or cache / "learning-curves.png")
    if as_json:
        doc = {r.dataset: r.to_dict() for r in results}
        # "curves" and "events" at the top are the first data set's; "datasets" holds each.
        click.echo(json.dumps({**doc[results[0].dataset], "datasets": doc,
                               "plot": str(path), "seconds": round(time.perf_counter() - started, 1)}, indent=2))
        return
    for r in results:
        click.echo(L.format_curves(r) + "\n")
    click.echo(f"Plot saved to {path}")

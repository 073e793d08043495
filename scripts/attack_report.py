"""The attack suite's table: what attack text buys, per family, for each way of ranking.

    .venv/bin/python scripts/attack_report.py [--profile profiles/maya.toml] [--vocab 40] [--steps 6]
                                              [--llm-model smollm2|bundled|PATH] [--llm-items 8] [--no-llm]

For each attacker item (shieldrec/eval/attacks.py: 37 written attacks in seven families, six
adaptive ones optimised against the embedding model, and six more that spread their words through
the description, knowing the passage check), its place among nineteen on-topic films
is compared with its own clean version's: "top 3" counts attacked items placed 1st to 3rd,
"gained" those placed higher than without the attack, "places" how many places they gained
(mean over the family's attacks, and the worst), and "(bound)" the most the description cap
lets any of the family's attacks on the description alone gain (eval/attacks.py, cap_bound).
Rankers: the default pipeline, each ranker the settings offer (the hand-set fusion, the
learned ranker), the five-line baseline (no defence), and the language model path (its
scorers and listwise re-ranking) on a subset of `--llm-items` attacks, one family after
another. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from shieldrec.eval import attacks as A  # noqa: E402
from shieldrec.ranking import Embedder, Pipeline  # noqa: E402
from shieldrec.ranking.types import RankRequest, RankResult  # noqa: E402
from shieldrec.settings import RankingSettings, Settings  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def rankers(embedder: Embedder) -> dict[str, tuple[Callable[[RankRequest], RankResult], float | None]]:
    """Name -> (rank, its description cap): the default pipeline, each ranker the settings offer,
    and the five-line baseline, which has no defence (and no cap)."""
    out: dict[str, tuple[Callable[[RankRequest], RankResult], float | None]] = {}
    for name, settings in (("default pipeline", RankingSettings()), ("fusion ranker", RankingSettings(ranker="fusion")),
                           ("learned ranker", RankingSettings(ranker="learned"))):
        out[name] = (Pipeline(settings, embedder).rank, float(settings.description_cap))
    out["five-line baseline"] = (A.baseline_rank(embedder), None)
    return out


def subset(attacks: list[A.Attack], n: int) -> list[A.Attack]:
    """`n` attacks taken round-robin over the families, so each family is tried."""
    by_family = {f: [a for a in attacks if a.family == f] for f in A.FAMILIES}
    out: list[A.Attack] = []
    while len(out) < min(n, len(attacks)):
        for f in A.FAMILIES:
            if by_family[f] and len(out) < n:
                out.append(by_family[f].pop(0))
    return out


def print_table(results: dict[str, list[A.Outcome]]) -> None:
    names = list(results)
    print("| family | " + " | ".join(f"{n}: top 3 / gained / places mean, worst (bound)" for n in names) + " |")
    print("|---|" + "---:|" * len(names))
    tables = {n: A.table(o) for n, o in results.items()}
    places = {n: A.gains(o) for n, o in results.items()}
    for fam in (*A.FAMILIES, "all"):
        cells = []
        for n in names:
            row, gain = tables[n].get(fam), places[n].get(fam)
            if not row or not gain:
                cells.append("–")
                continue
            bound = f" ({gain[2]})" if gain[2] is not None else ""
            cells.append(f"{row[1]}/{row[0]} / {row[2]}/{row[0]} / {gain[0]:.2f}, {gain[1]}{bound}")
        print(f"| {fam} | " + " | ".join(cells) + " |")


def over_bound(results: dict[str, list[A.Outcome]]) -> list[str]:
    """Attacks that gained more places than the cap's bound. The bound is in the order of the scores;
    the variety step reorders after them, so a line here is a measure of that step, not of the cap."""
    return [f"  {name}: {o.attack.family}: {o.attack.how[:60]!r}: gained {o.places}, bound {o.bound}"
            for name, outcomes in results.items() for o in outcomes if o.bound is not None and o.places > o.bound]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", type=Path, default=REPO / "profiles" / "maya.toml")
    ap.add_argument("--vocab", type=int, default=40, help="words the adaptive attacker chooses from")
    ap.add_argument("--steps", type=int, default=6, help="words the adaptive attacker adds or replaces")
    ap.add_argument("--llm-model", default="smollm2")
    ap.add_argument("--llm-items", type=int, default=8)
    ap.add_argument("--no-llm", action="store_true")
    args = ap.parse_args()

    started = time.monotonic()
    embedder = Embedder(device="cpu")
    sc = A.scenario(args.profile)
    attacks = [*A.static_attacks(sc), *A.adaptive_attacks(sc, embedder, vocab_size=args.vocab, steps=args.steps),
               *A.adaptive_attacks(sc, embedder, vocab_size=args.vocab, steps=args.steps, kinds=A.SPREAD)]
    print(f"{len(attacks)} attacker items built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    results = {name: A.run(sc, attacks, rank, cap) for name, (rank, cap) in rankers(embedder).items()}
    if not args.no_llm and args.llm_items > 0:
        from shieldrec.llm.components import build_pipeline

        settings = Settings()
        settings.llm.enabled, settings.llm.model = True, args.llm_model
        pipeline, parts = build_pipeline(settings, embedder)
        print(f"language model path: {parts.note or 'on'}", file=sys.stderr)
        if parts.scorers or parts.reorder:
            results[f"LLM path ({args.llm_model}, {args.llm_items} items)"] = A.run(
                sc, subset(attacks, args.llm_items), pipeline.rank)
    print_table(results)
    print(f"\nDescription cap: {RankingSettings().description_cap} (settings: ranking.description_cap). "
          "(bound): the most places any attack of the family on the description alone may gain under it.")
    beyond = over_bound(results)
    print("Gained more than the bound (the variety step):" if beyond else "No attack gained more than its bound.")
    print("\n".join(beyond))
    for name, outcomes in results.items():
        for o in outcomes:
            if o.gained or o.top3:
                print(f"  {name}: {o.attack.family}: {o.attack.how[:70]!r}: {o.clean} -> {o.attacked}")
    print(f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

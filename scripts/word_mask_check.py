"""Would leaving out each description's words closest to what the user wants stop the spread-out attacks?

    .venv/bin/python scripts/word_mask_check.py [--tau 0.45] [--ndcg]

Measured, not shipped (SECURITY.md, known limits). The candidate defence: each described candidate
is also embedded without every content word whose own embedding has a cosine of `--tau` or more
with any of the request's goals (the request, asked-for phrases, liked items, liked topics), and
that view joins the passage check's (shieldrec/ranking/passages.py): words that please the ranker
on their own then count against the item wherever they sit, which the passage check cannot do for
words spread through every passage.

Prints, for maya's attack scenario (`shieldrec.eval.attacks`): the suite's "adaptive, spread out"
attacks ranked by the default pipeline with and without the masked view; the same family built by
an attacker who knows the threshold (its vocabulary limited to words under it), ranked both ways;
with `--ndcg`, `shieldrec eval suite` NDCG@10 of the learned ranker on the two data sets with plots,
with the masked view (run it once without the flag's mask for the reference: `shieldrec eval suite
--users 300 --dataset ml-latest-small-tags --dataset movielens-100k-plots --method "learned ranker"`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from shieldrec.eval import attacks as A  # noqa: E402
from shieldrec.ranking import Embedder, Pipeline  # noqa: E402
from shieldrec.ranking.semantic import TEXT_CHARS, item_head  # noqa: E402
# The stuffing check's own word cutting and rebuilding: the masked text is cut as the ranker cuts words.
from shieldrec.ranking.stuffing import _content, _rebuild, _words  # noqa: E402
from shieldrec.settings import RankingSettings  # noqa: E402

PROFILE = Path(__file__).resolve().parent.parent / "profiles" / "maya.toml"
GOALS = ("query", "wanted", "liked", "like_topics")


@contextmanager
def masked_view(tau: float, seen_goals: list[np.ndarray]) -> Iterator[None]:
    """Every Pipeline built inside adds the masked view to its candidates' views; the goals each
    request masked against are appended to `seen_goals`. Patched in from here because the defence
    is measured, not shipped: the pipeline has no place for it."""
    plain = Pipeline._vectors

    def with_mask(self: Pipeline, p: Any) -> dict[str, np.ndarray]:
        v = plain(self, p)
        parts = [v[k] for k in GOALS if len(v[k])]
        if v["views"] is None or not len(v["views"]) or not parts:
            return v
        goals = np.concatenate(parts)
        seen_goals.append(goals)
        texts, rows = [], []
        for j, (item, tags, count) in enumerate(zip(p.request.candidates, p.tags, p.view_counts)):
            text = item.text[:TEXT_CHARS]
            words = _words(text)
            content = [i for i, w in enumerate(words) if _content(w)]
            if not count or not content:
                continue
            near = (self.embedder.encode([words[i].lower() for i in content]) @ goals.T).max(axis=1)
            drop = {i for i, s in zip(content, near) if s >= tau}
            if drop:
                rest = _rebuild(text, drop)
                texts.append(f"{item_head(item, tags)}. {rest}" if rest else item_head(item, tags))
                rows.append(j)
        if texts:
            layer = v["cands"].copy()
            layer[rows] = self.embedder.encode(texts)
            v["views"] = np.concatenate([v["views"], layer[None]], axis=0)
        return v

    Pipeline._vectors = with_mask  # type: ignore[method-assign]
    try:
        yield
    finally:
        Pipeline._vectors = plain  # type: ignore[method-assign]


def places(sc: A.Scenario, attacks: list[A.Attack], pipeline: Pipeline) -> str:
    out = A.run(sc, attacks, pipeline.rank)
    n, top3, gained = A.table(out)["all"]
    moves = ", ".join(f"{o.clean}→{o.attacked}" for o in out)
    return f"top 3 {top3}/{n}, gained {gained}/{n} ({moves})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tau", type=float, default=0.45, help="cosine at which a word is left out (default 0.45)")
    ap.add_argument("--ndcg", action="store_true", help="also run the evaluation suite with the masked view")
    args = ap.parse_args()

    embedder = Embedder(device="cpu")
    sc = A.scenario(PROFILE)
    pipeline = Pipeline(RankingSettings(), embedder)
    spread = A.adaptive_attacks(sc, embedder, vocab_size=12, steps=6, kinds=A.SPREAD)
    goals: list[np.ndarray] = []
    with masked_view(args.tau, goals):
        pipeline.rank(sc.request(sc.targets[0]))
    g = goals[0]

    def under(word: str) -> bool:
        return float((embedder.encode([word]) @ g.T).max()) < args.tau

    aware = A.adaptive_attacks(sc, embedder, vocab_size=12, steps=6, kinds=A.SPREAD, allowed=under)
    print(f"threshold {args.tau}; the aware attacker's words: "
          f"{sorted({w for a in aware for w in a.how.split(': ', 1)[1].split()})}")
    for name, attacks in (("spread out, as in the suite", spread), ("spread out, knowing the threshold", aware)):
        print(f"{name}:\n  default pipeline:  {places(sc, attacks, pipeline)}")
        with masked_view(args.tau, []):
            print(f"  with the mask:     {places(sc, attacks, pipeline)}")
    if args.ndcg:
        from shieldrec.cli import main as shieldrec

        with masked_view(args.tau, []):
            try:
                shieldrec(["eval", "suite", "--users", "300", "--dataset", "ml-latest-small-tags",
                           "--dataset", "movielens-100k-plots", "--method", "learned ranker"])
            except SystemExit as done:
                if done.code:
                    raise


if __name__ == "__main__":
    main()

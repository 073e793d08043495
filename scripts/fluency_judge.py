"""Could a language model tell the spread-out attacks' planted words from an honest plot's own words?

    .venv/bin/python scripts/fluency_judge.py [--model bundled|smollm2|PATH] [--attacks 6] [--honest 16]

Builds the attack suite's "adaptive, spread out" items for maya (words of a film's description
replaced, evenly through it, by the words that raise its embedding similarity to her profile most;
`shieldrec.eval.attacks`), then asks the model, in its worker process, how surprising each word of
each text is after "Plot summary:" (nats, summed over the word's tokens). Prints the planted words'
surprisal, the honest plots' words' (those of the scenario's on-topic candidates), the share of
planted words above the honest words' 95th percentile, the probability that a planted word is more
surprising than an honest one (word AUC); then, per text, the mean of its six most surprising words
(an attacked plot has six planted words) and the probability that an attacked plot scores above an
honest one on it (text AUC): what a judge of whole items could use. Last, the scoring speed.
SECURITY.md ("known limits") quotes it.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

from shieldrec.eval import attacks as A  # noqa: E402
from shieldrec.llm.client import LlmClient  # noqa: E402
from shieldrec.llm.registry import get_llm  # noqa: E402
from shieldrec.ranking import Embedder  # noqa: E402
from shieldrec.settings import LlmSettings  # noqa: E402

PROFILE = Path(__file__).resolve().parent.parent / "profiles" / "maya.toml"
MAX_TOKENS = 320


def word_surprisal(llm: LlmClient, prefix: list[int], text: str) -> tuple[list[tuple[str, float]], int]:
    """(word, nats) for each word of `text`'s first MAX_TOKENS tokens, and how many tokens were scored."""
    toks = llm.tokenize(text)[:MAX_TOKENS]
    lps = llm.score_continuations(prefix, [toks], together=False)[0]
    words: list[tuple[str, float]] = []
    cur, nats = "", 0.0
    for tok, lp in zip(toks, lps):
        piece = llm.detokenize([tok])
        if piece[:1].isspace() and cur.strip():  # a token that starts with a space starts a word
            words.append((cur.strip(), nats))
            cur, nats = "", 0.0
        cur += piece
        nats -= float(lp)
    if cur.strip():
        words.append((cur.strip(), nats))
    return words, len(toks)


def top_mean(words: list[tuple[str, float]], k: int = 6) -> float:
    return float(np.mean(sorted((nats for _, nats in words), reverse=True)[:k]))


def auc(high: np.ndarray, low: np.ndarray) -> float:
    """The probability that a value from `high` is above one from `low` (ties count half)."""
    return float((high[:, None] > low[None, :]).mean() + 0.5 * (high[:, None] == low[None, :]).mean())


def bare(word: str) -> str:
    return word.strip(".,;:!?\"'()[]").lower()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="bundled", help='"bundled" (Gemma 3 270M), "smollm2" or a GGUF path')
    ap.add_argument("--attacks", type=int, default=6)
    ap.add_argument("--honest", type=int, default=16, help="honest candidates' plots to score")
    args = ap.parse_args()

    sc = A.scenario(PROFILE)
    attacks = A.adaptive_attacks(sc, Embedder(device="cpu"), kinds=("substituted throughout",) * args.attacks)
    llm = get_llm(LlmSettings(model=args.model, device="cpu", n_ctx=1024, timeout_s=300.0))
    try:
        prefix = llm.tokenize("Plot summary:\n", bos=True)
        planted, scored, spent = [], 0, 0.0
        attacked_top: list[float] = []
        honest_top: list[float] = []
        for attack in attacks:
            chosen = set(attack.how.split(": ", 1)[1].split())
            started = time.perf_counter()
            words, n = word_surprisal(llm, prefix, attack.item.text)
            spent, scored = spent + time.perf_counter() - started, scored + n
            planted += [nats for w, nats in words if bare(w) in chosen]
            attacked_top.append(top_mean(words))
        honest = []
        for item in sc.candidates[: args.honest]:
            started = time.perf_counter()
            words, n = word_surprisal(llm, prefix, item.text)
            spent, scored = spent + time.perf_counter() - started, scored + n
            honest += [nats for _, nats in words]
            honest_top.append(top_mean(words))
    finally:
        llm.close()

    p, h = np.asarray(planted), np.asarray(honest)
    cut = float(np.percentile(h, 95))
    ta, th = np.asarray(attacked_top), np.asarray(honest_top)
    print(f"model: {llm.info.name} ({args.model})")
    print(f"planted words ({p.size} in {len(attacks)} attacked plots): median {np.median(p):.1f} nats, "
          f"range {p.min():.1f}-{p.max():.1f}")
    print(f"honest plots' words ({h.size} in {args.honest} plots): median {np.median(h):.1f}, "
          f"95th percentile {cut:.1f}, 99th {np.percentile(h, 99):.1f}, max {h.max():.1f}")
    print(f"planted words above the honest 95th percentile: {(p > cut).mean():.0%}; word AUC {auc(p, h):.3f}")
    print(f"mean of a text's six most surprising words: attacked {' '.join(f'{v:.1f}' for v in sorted(ta))}; "
          f"honest {' '.join(f'{v:.1f}' for v in sorted(th))}; text AUC {auc(ta, th):.3f}")
    print(f"scoring: {scored} tokens in {spent:.1f} s, {scored / spent:.0f} tokens/s")


if __name__ == "__main__":
    main()

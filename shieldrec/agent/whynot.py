""""Why not X?": an answer from the ranking's own evidence, never a guess.

The last answer holds every candidate the platforms sent: the ranked cards (with each
signal's contribution) and what the shield removed (with its reason). X is looked up by
title among them; the answer says whether it was removed and why, where it ranked, and
what outranked it, signal by signal.
"""

from __future__ import annotations

import difflib
import re

from shieldrec.agent.turn import Card, Turn
from shieldrec.sanitize import clean_text

_ASK = re.compile(
    r"^\s*why\s+(?:not|isn['’]?t|is\s+not|wasn['’]?t|was\s+not|didn['’]?t\s+you\s+(?:show|suggest|pick|include|list)"
    r"|did\s+you\s+(?:not|leave\s+out|drop|skip|remove))\s+(?P<title>.+?)"
    r"(?:\s+(?:here|there|in\s+the\s+list|on\s+the\s+list|included|shown|listed|in\s+it|on\s+it))?\s*[?!.]*\s*$",
    re.IGNORECASE,
)
_QUOTES = " '\"“”‘’«»"
# "why not something lighter?" suggests a request rather than naming an item.
_SUGGESTION = re.compile(r"^(?:some|any|every|no)(?:thing|one|body)?\b|^(?:a|an|more|less|fewer|other|try|just)\b",
                         re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")
# What each fused signal measures, for a person.
SIGNALS = {
    "instruction": "matching what you asked",
    "history": "closeness to what you liked",
    "avoid": "distance from what you avoid",
    "lexical": "shared names and series",
    "popularity": "public popularity",
    "llm": "the language model's opinion",
    "sponsored": "the sponsored penalty",
    "injection": "the injection penalty",
}
_SHOWN_DIFFS = 3


def asked_about(text: str) -> str:
    """The title in "why not X?" ("" when the message is not such a question)."""
    m = _ASK.match(text)
    if not m:
        return ""
    title = clean_text(m.group("title").strip(_QUOTES), 200)
    return "" if _SUGGESTION.match(title) else title


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def _match(wanted: str, titles: list[str]) -> int | None:
    """Index of the title `wanted` names: exact, else every word in it, else a close spelling."""
    key = _norm(wanted)
    if not key:
        return None
    normed = [_norm(t) for t in titles]
    if key in normed:
        return normed.index(key)
    words = set(key.split())
    containing = [i for i, t in enumerate(normed) if words <= set(t.split())]
    if containing:
        return min(containing, key=lambda i: len(normed[i]))
    close = difflib.get_close_matches(key, normed, n=1, cutoff=0.8)
    return normed.index(close[0]) if close else None


def _signals(card: Card, other: Card) -> tuple[list[str], list[str]]:
    """(where `other` beat `card`, where `card` beat `other`), biggest gaps first, in words."""
    names = set(card.components) | set(other.components)
    gaps = sorted(((other.components.get(n, 0.0) - card.components.get(n, 0.0), n) for n in names), reverse=True)
    lost = [f"{SIGNALS.get(n, n)} ({other.components.get(n, 0.0):+.2f} vs {card.components.get(n, 0.0):+.2f})"
            for gap, n in gaps if gap > 0.005][:_SHOWN_DIFFS]
    won = [SIGNALS.get(n, n) for gap, n in reversed(gaps) if gap < -0.005][:_SHOWN_DIFFS]
    return lost, won


def explain(turn: Turn, wanted: str) -> str:
    """Why `wanted` is not (or is) among the cards on screen, from the turn's own record."""
    titles = [c.item.title for c in turn.cards]
    i = _match(wanted, titles)
    if i is not None:
        return _ranked(turn, turn.cards[i])
    dropped = [d.item.title for d in turn.removed]
    j = _match(wanted, dropped)
    if j is not None:
        d = turn.removed[j]
        reason = d.reason.removeprefix("removed: ")
        return f"“{d.item.title}” was sent by the platforms and taken out before ranking: {reason}."
    total = len(turn.cards) + len(turn.removed)
    sent = f" for “{turn.sent}”" if turn.sent else ""
    return (f"“{wanted}” was not among the {total} candidates the platforms sent{sent}, so there was nothing "
            "to rank. The platforms only ever get the public words of a request; ask for it by name to look "
            "for it.")


def _ranked(turn: Turn, card: Card) -> str:
    title, total = card.item.title, len(turn.cards)
    head = f"“{title}” ranked #{card.rank} of {total} (score {card.score:+.2f})"
    visible = turn.visible
    if card in visible:
        return f"{head} and is on screen as #{visible.index(card) + 1}."
    if card.hidden:
        return f"{head}; it left the list afterwards: {card.hidden}."
    if not turn.view.keeps(card):
        return f"{head}; the current view hides it ({turn.view.describe()})."
    if not visible:
        return f"{head}."
    last = visible[-1]
    pool = turn.pool
    place = pool.index(card) + 1
    out = [f"{head}: {place - len(visible)} below the last card on screen, so “show more” brings it up."]
    shown = f"the last card shown, “{last.item.title}” (#{last.rank}, {last.score:+.2f})"
    if card.score >= last.score:
        # The diversity stage placed it lower: its score alone would have put it higher.
        out.append(f"Its score is higher than {shown}; it sits lower to keep the answer varied, because "
                   "cards much like it are already above it.")
    else:
        lost, won = _signals(card, last)
        out.append(shown[0].upper() + shown[1:] + " outranked it" + (" on " + "; ".join(lost) if lost else "") + ".")
        if won:
            out.append("It did better on " + ", ".join(won) + ".")
    if card.reasons:
        out.append("Its own reasons: " + " · ".join(card.reasons) + ".")
    return " ".join(out)

"""The reasons stage: one to three concrete sentences per item.

A reason names the liked title, the asked-for phrase or the preference that moved the
item, and only when it moved it noticeably. It names its evidence (the tag, the words of the
description, the liked item), and is said only when the item's own metadata holds that
evidence: closeness in embedding space alone is "similar in description to ...", never a
genre or an interest the item does not show. Labels that protect the user (sponsored,
injection attempt) always come with their reason, whatever else is said.
"""

from __future__ import annotations

from shieldrec.items import Item
from shieldrec.ranking import evidence, facts
from shieldrec.ranking.filters import phrase_in

MAX_REASONS = 3
NOTICEABLE = 0.1  # in score units: smaller pushes are not worth a sentence
FALLBACK = "no strong signal either way"


def choose_reasons(forced: list[str], evidence: list[tuple[float, str]], extra: str = "") -> list[str]:
    """`forced` first, then the strongest evidence whose sign agrees with its wording, then `extra`."""
    out = list(dict.fromkeys(forced))[:MAX_REASONS]
    ranked = sorted(evidence, key=lambda e: -abs(e[0]))
    room = MAX_REASONS - len(out) - (1 if extra else 0)
    for amount, reason in ranked:
        if room <= 0:
            break
        demotion = reason.startswith("demoted")
        if abs(amount) >= NOTICEABLE and (amount < 0) == demotion and reason not in out:
            out.append(reason)
            room -= 1
    if extra and len(out) < MAX_REASONS:
        out.append(extra)
    if not out:
        # Nothing noticeable: say the strongest thing there is, or that nothing stood out.
        agreeing = [r for a, r in ranked if (a < 0) == r.startswith("demoted") and abs(a) >= 0.75 * NOTICEABLE]
        out.append(agreeing[0] if agreeing else FALLBACK)
    return out


# -- reason texts: each says its evidence, and is "" when the item's metadata does not hold it --------


def thin_note(item: Item, tags: tuple[str, ...]) -> str:
    """For an item too thinly described to judge: what the ranking had to go on."""
    if not evidence.is_thin(item, tags):
        return ""
    had = ["title", *(["creator"] if item.creator else []), *(["year"] if facts.year(item) else [])]
    listed = had[0] if len(had) == 1 else ", ".join(had[:-1]) + " and " + had[-1]
    return f"little to go on: the platform sent only its {listed}"


def described_like(item: Item, tags: tuple[str, ...], title: str, how: str) -> str:
    """Nearness in embedding space to a history item: said as such, and only of a described item."""
    if evidence.is_thin(item, tags):
        return ""
    return f"similar in description to '{title}', {how}"


def asked_match(item: Item, w: str, tag: str) -> str:
    """The request's phrase `w` found in the item's tags, title or creator."""
    if tag:
        return f"tagged {tag}" + ("" if tag.lower() == w.lower() else f" (you asked for '{w}')")
    if phrase_in(w, item.title):
        return f"'{w}' is in its title"
    return f"by {item.creator} (you asked for '{w}')"


def asked_words(word: str, w: str) -> str:
    """The request's phrase `w` said by the description's own `word`."""
    return f"its description mentions '{word}' (you asked for '{w}')"


def asked_near(item: Item, tags: tuple[str, ...], w: str | None = None) -> str:
    """Closeness to the request without a tag, title or word that says it: the plain fact that
    the description is similar, and nothing for an item with no description to compare."""
    if evidence.is_thin(item, tags):
        return ""
    return "similar in description to what you asked for"


def interest_near(item: Item, tags: tuple[str, ...], interest: str) -> str:
    """Closeness to a stated interest: only a tag or the description's own words may say it."""
    tag = facts.genre_match_any(interest, tags)
    if tag:
        return f"tagged {tag} (you like {interest})"
    word = evidence.mentions(item.text, interest)
    return f"its description mentions '{word}' (you like {interest})" if word else ""


def avoided_near(item: Item, tags: tuple[str, ...], term: str, how: str) -> str:
    """Closeness to something avoided: only content words in the description may say it."""
    kind = evidence.content_for(term)
    found = evidence.content_evidence(item, tags, kind) if kind is not None else ""
    if not found:
        word = evidence.mentions(item.text, term)
        found = f"its description mentions '{word}'" if word else ""
    return f"demoted: {found}, {how}" if found else ""


def popularity(count: float, value: float) -> str:
    """`value` is in e-folds over the candidates' typical (geometric mean) count."""
    if value >= 1.0:
        return f"more public ratings than is typical here ({count:,.0f})"
    if value <= -1.0:
        return f"demoted: fewer public ratings than is typical here ({count:,.0f})"
    return ""

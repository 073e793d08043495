"""An answer (or a whole conversation) as Markdown or JSON, to save, copy or share.

What is exported is what the user sees: the picks on screen with their reasons, labels and
links, and what the shield kept out with its reasons. Nothing of the profile goes with it.
Platform text is cleaned and, in Markdown, escaped so a title cannot become a link or a
heading.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Sequence
from typing import Any

from shieldrec.agent.turn import Card, Turn
from shieldrec.sanitize import clean_text

FORMATS = ("markdown", "json")
SUFFIX = {"markdown": ".md", "json": ".json"}
# Enough to keep platform text literal: no emphasis, code, links, autolinks, HTML or tables.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")


def md(value: object, max_len: int = 500) -> str:
    """Untrusted text as literal Markdown: one line, every special character escaped."""
    return _MD_SPECIAL.sub(r"\\\1", clean_text(value, max_len))


def _facts(card: Card) -> dict[str, Any]:
    from shieldrec.ranking import facts

    year, runtime = facts.year(card.item), facts.runtime_minutes(card.item)
    return {"year": year, "runtime_minutes": round(runtime) if runtime else None,
            "genres": list(facts.genres(card.item))}


def pick(card: Card, position: int) -> dict[str, Any]:
    item = card.item
    return {
        "position": position,
        "rank": card.rank,
        "item_id": item.item_id,
        "title": item.title,
        "creator": item.creator,
        "sources": item.platforms or ([item.source] if item.source else []),
        "score": round(card.score, 4),
        "labels": card.labels,
        "reasons": card.reasons,
        "url": item.url,
        **_facts(card),
        "your_feedback": card.mark or None,
    }


def turn_document(turn: Turn) -> dict[str, Any]:
    return {
        "request": turn.text,
        "understood_as": turn.instruction,
        "sent_to_platforms": turn.sent,
        "at": datetime.datetime.fromtimestamp(turn.at).isoformat(timespec="seconds"),
        "summary": turn.summary(),
        "view": turn.view.describe() or "ShieldRec's order",
        "picks": [pick(c, n) for n, c in enumerate(turn.visible, 1)],
        "removed": [{"title": d.item.title, "creator": d.item.creator, "reason": d.reason} for d in turn.withheld],
    }


def turn_markdown(turn: Turn, *, heading: str = "##") -> str:
    doc = turn_document(turn)
    lines = [f"{heading} {md(turn.text, 300)}", "", f"*{md(doc['summary'], 400)}*  ",
             f"Asked {doc['at'].replace('T', ' ')}; sent to the platforms: “{md(turn.sent, 200)}”.", ""]
    for p in doc["picks"]:
        title = f"**{md(p['title'], 200)}**" + (f" — {md(p['creator'], 100)}" if p["creator"] else "")
        lines.append(f"{p['position']}. {title}  ")
        facts = [str(p["year"]) if p["year"] else "", f"{p['runtime_minutes']} min" if p["runtime_minutes"] else "",
                 ", ".join(md(g, 40) for g in p["genres"][:6])]
        meta = [f"score {p['score']:+.2f}", md(", ".join(p["sources"]), 100), *[f for f in facts if f],
                *(md(label, 60) for label in p["labels"])]
        lines.append("   " + " · ".join(m for m in meta if m) + "  ")
        if p["reasons"]:
            lines.append("   " + " · ".join(md(r, 300) for r in p["reasons"]) + "  ")
        if p["url"]:
            lines.append(f"   <{clean_text(p['url'], 500).replace('>', '%3E')}>")
    if doc["removed"]:
        lines += ["", f"Kept out ({len(doc['removed'])}):", ""]
        lines += [f"- {md(r['title'], 200)}" + (f" — {md(r['creator'], 100)}" if r["creator"] else "")
                  + f": {md(r['reason'], 300)}" for r in doc["removed"]]
    return "\n".join(lines).rstrip() + "\n"


def conversation_markdown(title: str, turns: Sequence[Turn]) -> str:
    head = f"# {md(title or 'ShieldRec conversation', 200)}\n\n"
    return head + "\n".join(turn_markdown(t) for t in turns)


def render(turns: Sequence[Turn], fmt: str, title: str = "") -> str:
    """One answer (a single turn) or a conversation, in `fmt` (markdown or json)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    if fmt == "json":
        doc: Any = turn_document(turns[0]) if len(turns) == 1 and not title else {
            "title": title, "answers": [turn_document(t) for t in turns]}
        return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if len(turns) == 1 and not title:
        return turn_markdown(turns[0], heading="#")
    return conversation_markdown(title, turns)

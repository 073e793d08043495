"""The learned part of a profile in plain words: one place, for `profile show` and the Profile screen."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from shieldrec.learning import facets as F
from shieldrec.learning import personal
from shieldrec.items import HistoryEvent
from shieldrec.store.learned import Facet, PersonalModel

_KINDS = {"liked": "liked", "disliked": "disliked", "rated": "rated", "not_now": "not now", "consumed": "finished",
          "skipped": "skipped"}


def _day(at: float) -> str:
    return datetime.datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M")


def facet_line(f: Facet) -> str:
    """"you tend to like sci-fi and adventure (liked 'A', 'B' and 3 more); strength 2.3, latest 2026-11-28"."""
    extra = "; pinned" if f.pinned else ""
    return f"{F.describe(f)}; strength {f.strength:.1f}, latest {_day(f.last_at)[:10]}{extra}"


def newest_taught(history: Sequence[HistoryEvent], model: PersonalModel | None, n: int = 3) -> list[str]:
    """The newest feedback the model read, in words ("liked 'Arrival'"), newest first."""
    from shieldrec.learning.examples import gain

    if model is None:
        return []
    read = [ev for ev in history if (ev.id or 0) <= model.newest_event and gain(ev) is not None]
    out = []
    for ev in reversed(read[-n:]):
        verb = f"rated {ev.rating:g}" if ev.event == "rated" and ev.rating is not None else _KINDS.get(ev.event, ev.event)
        out.append(f"{verb} '{ev.item.title}'")
    return out


def model_lines(model: PersonalModel | None, feedback_events: int, newest: Sequence[str] = ()) -> list[str]:
    """What the personal ranking model learned, from which events, and how much it weighs."""
    rule = (f"its weight is events / (events + {personal.HALF_EVENTS}) from {personal.MIN_EVENTS} events on, "
            "0 before; the shipped ranker always weighs 1")
    if model is None:
        if feedback_events:
            return [f"Personal ranking model: not fitted yet ({feedback_events} feedback events so far; your "
                    "next feedback fits it, or `shieldrec profile learn` now)."]
        return [f"Personal ranking model: none yet; it learns from your likes, dislikes, ratings and not-nows ({rule})."]
    kinds = ", ".join(f"{_KINDS.get(k, k)} {n}" for k, n in sorted(model.taught_by.items(), key=lambda kv: -kv[1]))
    lines = [f"Personal ranking model: learned from {model.events} feedback events ({kinds or 'none'}), "
             f"{model.pairs} comparisons of one item above another; updated {_day(model.trained_at)}."]
    if newest:
        lines.append(f"The newest it learned from: {', '.join(newest)}.")
    if model.blend > 0:
        lines.append(f"It weighs {model.blend:.2f} against the shipped ranker ({rule}).")
    elif model.events < personal.MIN_EVENTS:
        lines.append(f"It does not count yet: {personal.MIN_EVENTS - model.events} more feedback events and it "
                     f"starts to ({rule}).")
    else:
        lines.append("It does not count for now: on your newest feedback it ordered items worse than the shipped "
                     "ranker alone, so your rankings stay the shipped ranker's until more feedback says otherwise.")
    held = model.held_out
    if held.get("pairs"):
        lines.append(f"Checked on your newest feedback ({held['pairs']:.0f} comparisons it was not fitted on): "
                     f"{held['personal']:.0%} in your order with it, {held['prior']:.0%} without.")
    if model.weights.size:
        top = sorted(zip(model.features, model.weights), key=lambda kv: -abs(float(kv[1])))[:3]
        said = ", ".join(f"{'more' if w > 0 else 'less'} weight on {name.replace('_', ' ')}" for name, w in top
                         if abs(float(w)) > 1e-4)
        if said:
            lines.append(f"What it changes most: {said}.")
    return lines


def facets_lines(facets: Sequence[Facet]) -> list[str]:
    out = []
    for f in facets:
        out.append(f"#{f.id}  {facet_line(f)}")
    return out

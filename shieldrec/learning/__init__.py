"""What a profile learns from its own user: a personal correction of the shipped ranker and
interest facets, updated in the background after feedback (see `worker.Learner`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shieldrec.store.db import tx

if TYPE_CHECKING:
    from shieldrec.store import Profile, Store


def reset(store: Store, profile: Profile) -> str:
    """Forget the learned part (personal model, facets and the choices about them, the lists
    shown, learned likes and avoids); stated preferences and the history stay. Says what went."""
    learned = [p for p in store.preferences(profile) if p.origin == "learned"]
    model = store.learned.model(profile.id)
    facets = store.learned.facets(profile.id, with_deleted=True)
    with tx(store.db):
        for p in learned:
            store.remove_preference(profile, p.id)  # type: ignore[arg-type]
        store.learned.reset(profile.id)
    parts = [f"{len(facets)} interest facet{'s' if len(facets) != 1 else ''}",
             f"{len(learned)} learned like{'s' if len(learned) != 1 else ''} and avoids"]
    if model is not None:
        parts.insert(0, f"the personal model of {model.events} events")
    return ", ".join(parts)

"""The ranking pipeline: sanitize -> hard filters -> scorers -> fusion -> diversity -> reasons.

`Pipeline.rank` runs the stages for one request; `rank_many` prepares every request
first so all their texts are encoded in one batched pass. Every candidate comes out
exactly once: ranked, or removed with the reason that removed it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from shieldrec.intent import Intent
from shieldrec.items import HistoryEvent, Item, Preference
from shieldrec.ranking import explain, facts
from shieldrec.ranking import features as F
from shieldrec.ranking import labels as L
from shieldrec.ranking.clean import sanitize_item
from shieldrec.ranking.constraints import descriptive, parse_instruction, positive_text
from shieldrec.ranking.diversity import NEAR_DUPLICATE, SIMILAR, mmr
from shieldrec.ranking.embedder import Embedder, Keep
from shieldrec.ranking.explain import choose_reasons
from shieldrec.ranking.filters import SeenIndex, filter_candidates, standing_avoids
from shieldrec.ranking.contribution import Contribution
from shieldrec.ranking.fusion import Fused, fuse, run_scorers, scorer_name
from shieldrec.ranking.injection import HIDING, scoring_view
from shieldrec.ranking.learned import LearnedRanker, ResidualHead
from shieldrec.ranking.lexical import lexical_signal
from shieldrec.ranking.passages import NOTE_PULL, CandidateVectors, head_view, view_keeps
from shieldrec.ranking.popularity import popularity_signal
from shieldrec.ranking.semantic import (
    TEXT_CHARS,
    avoid_signal,
    history_signal,
    instruction_signal,
    item_head,
    item_text,
)
from shieldrec.ranking.sponsorship import find_paid_markers, platform_says_sponsored
from shieldrec.ranking.stuffing import destuff, interest_stems
from shieldrec.ranking.taste import Taste, read_taste, strength
from shieldrec.ranking.trust import PlatformRecord, item_trust, with_trust_notes
from shieldrec.ranking.types import Check, Ranked, RankRequest, RankResult, Removed, Scorer
from shieldrec.sanitize import clean_text
from shieldrec.errors import ShieldRecError
from shieldrec.settings import RankingSettings, Settings
from shieldrec.store import Store

log = logging.getLogger(__name__)

CARRIED = "demoted: one passage of its description carries its match (counted against it)"
CAP = "description cap"  # the component: what the cap took off (or gave back)

Reorder = Callable[[RankRequest, list[Ranked]], list[Ranked]]


@dataclass
class _Prepared:
    """One request after the cheap stages, waiting for its embeddings."""

    request: RankRequest  # sanitized; candidates are the scoring views of the kept items
    intent: Intent
    shown: list[Item]  # the kept items as the user will see them (sanitized, unstripped)
    removed: list[Removed]
    labels: list[list[str]]
    forced: list[list[str]]  # reasons that always accompany a label
    paid: np.ndarray
    injected: np.ndarray  # per item, how many tricks it tried: each costs the injection penalty
    caught: np.ndarray  # per item, whether it was caught steering the ranking: it goes after the honest ones
    record: PlatformRecord  # what each platform was caught at, this answer included
    taste: Taste
    query: str
    wanted: list[str]
    avoided: list[tuple[str, float, str]]
    likes: list[Preference]
    avoids: list[Preference]
    neutral: list[HistoryEvent] = field(default_factory=list)  # history that is neither liked nor disliked
    tags: list[tuple[str, ...]] = field(default_factory=list)
    liked_tags: list[tuple[str, ...]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    unchecked: frozenset[str] = frozenset()  # ids of items a constraint could not be checked on
    texts: list[str] = field(default_factory=list)
    keeps: list[tuple[Keep, ...]] = field(default_factory=list)  # per kept item, its passage views (passages.py)
    heads: list[str | None] = field(default_factory=list)  # per kept item, its view "title and tags alone", if any
    # Per kept item with a description: its title and tags, scored alone for the description cap.
    bare: list[str | None] = field(default_factory=list)


def _clean_event(ev: HistoryEvent) -> HistoryEvent:
    item = sanitize_item(ev.item)
    return ev if item is ev.item else replace(ev, item=item)


def _clean_pref(p: Preference) -> Preference:
    value = clean_text(p.value, 300)
    weight = p.weight if isinstance(p.weight, (int, float)) and math.isfinite(p.weight) else 1.0
    weight = min(max(float(weight), 0.0), 10.0)
    return p if (value, weight) == (p.value, p.weight) else replace(p, value=value, weight=weight)


class Pipeline:
    """Ranks candidates for one user; safe to share between threads.

    The scores come from the learned ranker (settings.ranker = "learned", the default) or
    from the hand-set fusion ("fusion"); everything around them is the same: filters,
    penalties, plug-in scorers, diversity, reasons. `ranker` replaces the shipped model
    (an evaluation's own weights); `head` adds a per-profile correction to it.

    `scorers` add signals fused under their `name` with settings.weights[name] (0 when
    absent: not even called); `reorder` may permute the fused list before diversity. The
    ranking holds every kept candidate in the order to show them (diversity may place an
    item below one with a lower score); callers wanting `request.top` take that many.
    `Ranked.components` holds each signal's push in score units: instruction, history,
    avoid, lexical, popularity (and, learned, dislikes, context, interests), any plug-in's
    name, and the sponsored / injection penalties.
    """

    def __init__(
        self,
        settings: RankingSettings,
        embedder: Embedder,
        scorers: Sequence[Scorer] = (),
        reorder: Reorder | None = None,
        ranker: LearnedRanker | None = None,
        head: ResidualHead | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.scorers = list(scorers)
        self.reorder = reorder
        self.ranker = ranker
        self.head = head

    @classmethod
    def for_user(
        cls,
        store: Store | None = None,
        settings: Settings | None = None,
        scorers: Sequence[Scorer] = (),
        reorder: Reorder | None = None,
        owner: int | None = None,
    ) -> Pipeline:
        """The default pipeline: the user's settings, embeddings cached in their profile database
        (recorded as `owner`'s, a profile id, so that forgetting it removes them)."""
        settings = settings or Settings.load()
        cache = store.embeddings.owned_by(owner) if store is not None else None
        embedder = Embedder(cache=cache, device=settings.embedding_device)
        return cls(settings.ranking, embedder, scorers=scorers, reorder=reorder)

    # -- public ---------------------------------------------------------------------------

    def rank(self, req: RankRequest) -> RankResult:
        return self._finish(self._prepare(req))

    def rank_many(self, reqs: Sequence[RankRequest]) -> list[RankResult]:
        prepared = [self._prepare(r) for r in reqs]
        self._prefetch(prepared)
        return [self._finish(p) for p in prepared]

    def features_many(self, reqs: Sequence[RankRequest]) -> list[tuple[list[str], np.ndarray]]:
        """Per request: the ids of the candidates the filters kept, in the order given, and their
        feature matrix (features.FEATURES columns): what the learned ranker scores, for training."""
        prepared = [self._prepare(r, features=True) for r in reqs]
        self._prefetch(prepared)
        out = []
        for p in prepared:
            ids = [it.item_id for it in p.shown]
            if not p.shown:
                out.append((ids, np.zeros((0, len(F.FEATURES)), dtype=np.float32)))
                continue
            v = self._vectors(p)
            lexical = lexical_signal(p.request.candidates, p.taste)
            out.append((ids, F.compute(self._inputs(p, v, lexical.values))))
        return out

    def _prefetch(self, prepared: Sequence[_Prepared]) -> None:
        """Every text the requests embed, and their candidates' views, in one batched pass."""
        self.embedder.prefetch([t for p in prepared for t in p.texts],
                               {t: k for p in prepared for t, k in zip(p.texts, p.keeps) if k})

    def _learned(self) -> LearnedRanker | None:
        """The model that scores, or None for the hand-set fusion (or when the weights cannot load)."""
        if self.settings.ranker == "fusion":
            return None
        if self.ranker is None:
            try:
                self.ranker = LearnedRanker.shipped()
            except ShieldRecError as exc:
                log.warning("ranking with the hand-set fusion: %s", exc)
                return None
        return self.ranker

    # -- stages before embedding ----------------------------------------------------------

    def _prepare(self, req: RankRequest, features: bool = False) -> _Prepared:
        candidates = [sanitize_item(c) for c in req.candidates]
        history = [_clean_event(ev) for ev in req.history]
        prefs = [_clean_pref(p) for p in req.preferences]
        instruction = clean_text(req.instruction, 1000)
        intent = req.intent if req.intent is not None else parse_instruction(instruction)

        seen = SeenIndex(history)
        done = filter_candidates(
            candidates, intent=intent, preferences=prefs, seen=seen, include_consumed=self.settings.include_consumed
        )
        kept, removed = done.kept, done.removed
        shown = [candidates[i] for i in kept]
        taste = read_taste(history)
        liked_tags = [facts.genres(it) for it in taste.liked_items]
        query = positive_text(intent) or ", ".join(intent.wanted)
        # The words of a request are interests a list could be aimed at; those of a paragraph (a review,
        # a plot) are not: an honest description shares them because it matches, and flagging it as a
        # list of them put the very item described last. What a description can buy is capped anyway.
        asked = [] if descriptive(instruction) else [query, *intent.wanted]
        interests = interest_stems([
            *asked, *(p.value for p in prefs if p.kind == "like"), *(g for t in liked_tags for g in t),
        ])
        views, labels, forced = [], [], []
        paid = np.zeros(len(shown), dtype=bool)
        injected = np.zeros(len(shown))
        for j, item in enumerate(shown):
            view, found = scoring_view(item)
            view, stuffed = destuff(view, interests)
            views.append(view)
            attempts = [f for f in found if f not in HIDING]
            hiding = [*item.tricks, *(f for f in found if f in HIDING)]
            item_labels, item_forced = [], []
            if platform_says_sponsored(item):
                item_labels.append(L.SPONSORED)
                item_forced.append("demoted: sponsored")
                paid[j] = True
            else:
                markers = find_paid_markers(f"{item.title}\n{item.text}")
                if markers:
                    item_labels.append(L.NATIVE_AD)
                    item_forced.append(f"demoted: reads like a paid placement ({markers[0]})")
                    paid[j] = True
            if attempts:
                item_labels.append(L.INJECTION)
                item_forced.append(f"demoted: its text tries to instruct the ranking ({attempts[0]})")
                injected[j] += 1
            if hiding:
                item_labels.append(L.HIDDEN)
                item_forced.append(f"demoted: it carried {' and '.join(hiding)} (removed)")
                injected[j] += 1
            if stuffed:
                item_labels.append(L.STUFFED)
                item_forced.append(f"demoted: its text is written for the ranker ({stuffed[0]})")
                injected[j] += 1
            if seen.find(item) is None:
                item_labels.append(L.NEW)
            labels.append(item_labels)
            forced.append(item_forced)
        caught = injected > 0
        record = PlatformRecord.of(shown, caught, req.platform_record)
        tags = [facts.genres(v) for v in views]  # as scorers may read them: injected tags cut
        for j, item in enumerate(shown):
            if thin := explain.thin_note(item, tags[j]):
                forced[j].append(thin)
            forced[j] += done.caveats.get(j, ())

        wants_features = features or self._learned() is not None
        neutral = [ev for ev in history if strength(ev) == 0.0] if wants_features else []
        wanted = [w for w in intent.wanted if w]
        likes = [p for p in prefs if p.kind == "like"]
        avoids = [p for p in prefs if p.kind == "avoid"]
        # Said now, in so many words: twice the pull of a standing "avoid" preference.
        avoided: list[tuple[str, float, str]] = [(t, 2.0, f"you said no {t}") for t in intent.avoided if t]
        _, asked = standing_avoids(prefs, intent)  # "a horror movie" sets a standing "avoid horror" aside
        avoided += [(p.value, p.weight, "which you avoid") for p in avoids if p.target == "topic" and p not in asked]
        view_request = replace(req, candidates=views, instruction=instruction, history=history,
                               preferences=prefs, intent=intent)
        prep = _Prepared(
            request=view_request, intent=intent, shown=shown, removed=removed, labels=labels, forced=forced,
            paid=paid, injected=injected, caught=caught, record=record, taste=taste, query=query, wanted=wanted,
            avoided=avoided, likes=likes, avoids=avoids, neutral=neutral, tags=tags, checks=done.checks,
            unchecked=frozenset(shown[j].item_id for j in done.caveats),
        )
        if shown:
            prep.liked_tags = liked_tags
            check = self.settings.passage_check
            heads = [item_head(v, tg) for v, tg in zip(views, tags)]
            prep.keeps = [view_keeps(h, v.text[:TEXT_CHARS]) if check else () for h, v in zip(heads, views)]
            prep.heads = [head_view(h, v.text, bool(tg)) if check else None for h, v, tg in zip(heads, views, tags)]
            prep.bare = [h if v.text.strip() else None for h, v in zip(heads, views)]
            prep.texts = [
                *(item_text(v, t) for v, t in zip(views, tags)),
                *(item_text(it, t) for it, t in zip(taste.liked_items, prep.liked_tags)),
                *(item_text(it) for it in taste.disliked_items),
                *(item_text(ev.item) for ev in neutral),
                *([query] if query else []),
                *wanted,
                *(a[0] for a in avoided),
                *(p.value for p in likes if p.target == "topic"),
                *(h for h in prep.heads if h is not None),
                *(b for b in prep.bare if b is not None),
            ]
        return prep

    # -- stages after embedding -----------------------------------------------------------

    def _vectors(self, p: _Prepared) -> dict[str, np.ndarray]:
        """The request's embeddings, split by what they embed."""
        names = ("cands", "liked", "disliked", "neutral", "query", "wanted", "avoided", "like_topics", "heads", "bare")
        topics = sum(1 for x in p.likes if x.target == "topic")
        sizes = [len(p.shown), len(p.taste.liked), len(p.taste.disliked), len(p.neutral), 1 if p.query else 0,
                 len(p.wanted), len(p.avoided), topics, sum(h is not None for h in p.heads)]
        described = any(p.keeps)
        if described:  # first, so each candidate's text and its views come from one pass
            self._prefetch([p])
        v = dict(zip(names, np.split(self.embedder.encode(p.texts), np.cumsum(sizes))))
        if described or any(h is not None for h in p.heads):
            pooled = self.embedder.views(p.texts[: len(p.shown)], p.keeps)
            heads = iter(v["heads"])  # encoded as texts of their own, in order
            v["views"] = CandidateVectors.read(v["cands"], [next(heads) if h is not None else None for h in p.heads],
                                               pooled).views
        else:
            v["views"] = CandidateVectors.of(v["cands"], []).views
        return v

    def _inputs(self, p: _Prepared, v: dict[str, np.ndarray], lexical: np.ndarray,
                counts: tuple[np.ndarray, np.ndarray] | None = None) -> F.Inputs:
        # Dislikes reach the features only through the like-versus-dislike contrast: being close
        # to something disliked never counts for a candidate.
        return F.Inputs(
            items=p.request.candidates, cands=v["cands"], views=v["views"],
            query=v["query"][0] if len(v["query"]) else None, wanted=v["wanted"], wanted_phrases=p.wanted, tags=p.tags,
            liked=v["liked"], liked_weight=p.taste.liked_weight, disliked=v["disliked"],
            disliked_weight=p.taste.disliked_weight,
            neutral=v["neutral"], liked_events=p.taste.liked, liked_tags=p.liked_tags, neutral_events=p.neutral,
            lexical=lexical,
            counts=counts, popularity=min(max(float(self.settings.popularity), 0.0), 1.0),
        )

    def _finish(self, p: _Prepared) -> RankResult:
        request, n = p.request, len(p.shown)
        if n == 0:
            return RankResult(request.request_id, [], p.removed, p.intent, p.checks)
        v = self._vectors(p)
        self._note_pull(p, v)
        cands = v["cands"]
        views = request.candidates
        penalties = {}
        if p.paid.any():
            penalties["sponsored"] = p.paid * max(float(self.settings.sponsored_penalty), 0.0)
        if p.injected.any():
            penalties["injection"] = p.injected * max(float(self.settings.injection_penalty), 0.0)
        model = self._learned()
        if model is None:
            fused = self._fused(p, v, penalties)
        else:
            fused = self._scored(model, p, v, penalties)
        if any(b is not None for b in p.bare):
            fused = self._capped(model, p, v, penalties, fused)

        by_score = [int(j) for j in np.argsort(-fused.scores, kind="stable")]
        ranked = [
            Ranked(item=views[j], score=float(fused.scores[j]), labels=list(p.labels[j]),
                   components=fused.components[j])
            for j in by_score
        ]
        index = {id(views[j]): j for j in range(n)}
        relevance = fused.scores[by_score]
        if self.reorder is not None:
            reordered = self._reordered(request, ranked, index)
            if reordered is not None:
                ranked = reordered
                relevance = np.linspace(1.0, 0.0, n) if n > 1 else np.ones(1)
        rows = [index[id(r.item)] for r in ranked]
        order, resembled = mmr(relevance, cands[rows] @ cands[rows].T, self.settings.diversity)

        out: list[tuple[Ranked, int]] = []
        for pos, k in enumerate(order):
            r = ranked[k]
            j = rows[k]
            extra = ""
            if resembled[k] >= 0 and pos > k:  # placed later than its relevance alone would have
                other = rows[resembled[k]]
                sim = float(cands[j] @ cands[other])
                if sim >= SIMILAR:
                    how = "much like" if sim >= NEAR_DUPLICATE else "similar to"
                    extra = f"moved down for variety: {how} '{p.shown[other].title}' above"
            evidence = fused.evidence[j] + [(0.1, x) for x in r.reasons if x]  # the reorder step's own
            r.reasons = choose_reasons(p.forced[j], evidence, extra)
            r.labels = list(dict.fromkeys([*p.labels[j], *(x for x in r.labels if x in L.ALL)]))
            r.item = p.shown[j]
            out.append((r, j))
        # An item caught steering the ranking comes after every item that was not, whatever it
        # scored: a penalty it could outbid would leave a price on the first place. Then what the
        # user asked for is shown first where it could be checked ("for my 7-year-old": a film
        # tagged Family before one whose metadata says nothing of who it suits).
        out.sort(key=lambda rj: (bool(p.caught[rj[1]]), rj[0].item.item_id in p.unchecked))
        return RankResult(request.request_id, [r for r, _ in out], p.removed, p.intent, p.checks, p.record)

    @staticmethod
    def _note_pull(p: _Prepared, v: dict[str, np.ndarray]) -> None:
        """Say so where one passage of a description carries the item toward the request (or,
        without one, toward what was liked): the score has already counted it against the item."""
        if len(v["query"]):
            goal = v["query"][0]
        elif len(v["liked"]):
            goal = v["liked"].mean(axis=0)
            goal = goal / max(float(np.linalg.norm(goal)), 1e-9)
        else:
            return
        pull = CandidateVectors(v["cands"], v["views"]).pull(goal)
        for j in np.nonzero(pull >= NOTE_PULL)[0]:
            p.forced[int(j)].append(CARRIED)

    def _claims(self, p: _Prepared) -> tuple[list[float | None], tuple[np.ndarray, np.ndarray]]:
        """Public counts as claims: none from an item caught steering the ranking (nor do its
        counts move the others' centre), the rest weighed by their platform's record."""
        views = p.request.candidates
        raw = [None if p.caught[j] else facts.popularity_count(it) for j, it in enumerate(views)]
        pop, pop_z = F.popularity_features(views, raw)
        trust = item_trust(views, p.caught, p.record)
        return raw, (pop * trust, pop_z * trust)

    def _popularity(self, p: _Prepared, raw: list[float | None], counts: tuple[np.ndarray, np.ndarray]
                    ) -> Contribution:
        views = p.request.candidates
        return with_trust_notes(popularity_signal(views, counts[0], raw), views, p.record)

    def _popularity_weight(self) -> float:
        """The hand-set weight of public counts, scaled by the user's say over them (0..1)."""
        say = min(max(float(self.settings.popularity), 0.0), 1.0)
        return float(self.settings.weights.get("popularity", 0.0)) * say

    def _capped(self, model: LearnedRanker | None, p: _Prepared, v: dict[str, np.ndarray],
                penalties: dict[str, np.ndarray], fused: Fused) -> Fused:
        """The description cap: each item's score is its score with every description left out
        (title and tags alone, the same for all candidates), plus the difference the descriptions
        make, clipped to +-cap. Whatever a description says, its item's score stays within cap of
        what it scores without one, so it never passes an item whose description-free score is
        higher by more than twice the cap (SECURITY.md). Plug-in scorers are outside it: they read
        the text their own way and carry their own checks. What the cap took off shows as a component
        of the score, not as a reason: a reason names evidence in the item's own metadata."""
        cap = float(self.settings.description_cap)
        rows = [j for j, b in enumerate(p.bare) if b is not None]
        cands = v["cands"].copy()
        cands[rows] = v["bare"]
        items = list(p.request.candidates)
        for j in rows:
            items[j] = replace(items[j], text="")
        bare_p = replace(p, request=replace(p.request, candidates=items))
        bare_v = {**v, "cands": cands, "views": CandidateVectors.of(cands, []).views}
        bare = (self._fused(bare_p, bare_v, penalties, plugins=False) if model is None
                else self._scored(model, bare_p, bare_v, penalties, plugins=False))
        names = {scorer_name(s) for s in self.scorers}
        plugin = np.array([sum(c.get(name, 0.0) for name in names) for c in fused.components])
        share = fused.scores - plugin - bare.scores
        moved = np.clip(share, -cap, cap) - share
        scores = fused.scores + moved
        for j in np.nonzero(np.abs(moved) > 1e-9)[0]:
            j = int(j)
            fused.components[j][CAP] = round(float(moved[j]), 6)
        return Fused(scores, fused.components, fused.evidence)

    def _fused(self, p: _Prepared, v: dict[str, np.ndarray], penalties: dict[str, np.ndarray],
               plugins: bool = True) -> Fused:
        """The hand-set fusion: each signal times its weight in settings.weights."""
        views, cands = p.request.candidates, v["cands"]
        toward = CandidateVectors(cands, v["views"]).toward
        query = v["query"][0] if len(v["query"]) else None
        signals = {
            "instruction": instruction_signal(toward, views, p.tags, query, p.wanted, v["wanted"]),
            "history": history_signal(toward, views, p.tags, p.taste, v["liked"], p.likes, v["like_topics"]),
            "avoid": avoid_signal(cands, views, p.tags, p.taste, v["liked"], v["disliked"], p.avoided, v["avoided"],
                                  p.avoids),
            "lexical": lexical_signal(views, p.taste),
            "popularity": self._popularity(p, *self._claims(p)),
        }
        weights = dict(self.settings.weights)
        weights["popularity"] = self._popularity_weight()
        if plugins:
            signals.update(run_scorers(self.scorers, p.request, views, weights))
        return fuse(len(views), signals, weights, penalties)

    def _scored(
        self, model: LearnedRanker, p: _Prepared, v: dict[str, np.ndarray], penalties: dict[str, np.ndarray],
        plugins: bool = True,
    ) -> Fused:
        """The learned ranker's score, split by feature group, each part carrying the reason its
        signal gives; what the data sets cannot teach (the user's stated likes and avoids, what
        they said to leave out now, a candidate whose nearest history items are dislikes) and
        plug-in scorers are added with their hand-set weights."""
        views, cands, n = p.request.candidates, v["cands"], len(p.request.candidates)
        toward = CandidateVectors(cands, v["views"]).toward
        query = v["query"][0] if len(v["query"]) else None
        none = np.zeros((0, cands.shape[1]), dtype=np.float32)
        lexical = lexical_signal(views, p.taste)
        raw_counts, counts = self._claims(p)
        popular = self._popularity(p, raw_counts, counts)
        x = F.compute(self._inputs(p, v, lexical.values, counts))
        parts = model.contributions(x, self.head)
        # Each group's part carries its own signal's reason. The learned like-versus-dislike part
        # names nothing: the dislike rule below names the disliked item when it fires.
        evidence = {
            "instruction": instruction_signal(toward, views, p.tags, query, p.wanted, v["wanted"]).reasons,
            "history": history_signal(toward, views, p.tags, p.taste, v["liked"], (), none).reasons,
            "lexical": lexical.reasons,
            "popularity": popular.reasons,
        }
        signals: dict[str, Contribution] = {
            group: Contribution(values, evidence.get(group, [""] * n)) for group, values in parts.items()
        }
        weights = self.settings.weights
        unit = {group: 1.0 for group in parts}
        if not any(f in model.weights.features for f in F.POPULARITY):
            # The model does not read public counts (features.UNLEARNED): they weigh what the user's
            # popularity setting gives them, as in the fusion.
            signals["popularity"] = Contribution(signals["popularity"].values
                                                 + self._popularity_weight() * popular.values, popular.reasons)
        if p.likes:
            signals["interests"] = history_signal(toward, views, p.tags, Taste(), none, p.likes, v["like_topics"])
            unit["interests"] = float(weights.get("history", 1.0))
        if p.avoided or p.avoids or (p.taste.liked and p.taste.disliked):
            signals["avoid"] = avoid_signal(cands, views, p.tags, p.taste, v["liked"], v["disliked"], p.avoided,
                                            v["avoided"], p.avoids)
            unit["avoid"] = float(weights.get("avoid", 1.0))
        if plugins:
            extra = run_scorers(self.scorers, p.request, views, weights)
            signals.update(extra)
            unit.update({name: float(weights.get(name, 0.0)) for name in extra})
        return fuse(n, signals, unit, penalties)

    def _reordered(self, request: RankRequest, ranked: list[Ranked], index: dict[int, int]) -> list[Ranked] | None:
        """The reorder hook's answer, if it is a permutation of what it was given."""
        try:
            answer = list(self.reorder(request, list(ranked)))  # type: ignore[misc]
            got = [id(r.item) for r in answer]
            if sorted(got) != sorted(id(r.item) for r in ranked) or any(g not in index for g in got):
                raise ValueError("it did not return each candidate exactly once")
            return answer
        except Exception as exc:  # noqa: BLE001 - a failing reorder leaves the fused order
            log.warning("reorder step failed and was skipped: %s", exc)
            return None

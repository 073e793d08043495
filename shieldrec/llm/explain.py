"""One-sentence explanations written by an instruction-tuned model, kept only when grounded.

The model is given the item and the evidence the ranking already found (the deterministic
reasons: which liked title, which asked-for phrase, which preference moved it) and writes
one sentence under a grammar that allows nothing but a single plain sentence. The
sentence is then checked: every name and number in it must come from the item or the
evidence, it must point at some piece of that evidence, and it must not address an agent.
A sentence that fails is dropped and the deterministic reasons stay as they were.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from shieldrec.errors import LlmUnavailable
from shieldrec.items import Item
from shieldrec.llm import prompts
from shieldrec.llm.client import LlmClient
from shieldrec.llm.registry import UsesModel
from shieldrec.ranking.injection import OWN_VOICE, find_injection
from shieldrec.ranking.types import Ranked, RankRequest
from shieldrec.sanitize import clean_text
from shieldrec.settings import LlmSettings

if TYPE_CHECKING:
    from shieldrec.llm.runtime import LocalLLM

log = logging.getLogger(__name__)

MIN_CHARS, MAX_CHARS = 20, 200
MAX_TOKENS = 60
# One sentence: a capital, then no markup, no line breaks and no sentence end, then a period.
SENTENCE_GRAMMAR = r'''root ::= [A-Z] [^\n.!?<>{}\[\]|#*`]{15,180} "."'''

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")
_NUMBER = re.compile(r"\d")
# Words that carry no claim about the item; anything capitalised or numeric must be grounded.
_FUNCTION = frozenset(
    """a an the and or but so because since as it its it's this that these those you your you're
    i we they he she is are was were be been being has have had do does did for of to in on at by
    with from about like likes liked love loved enjoy enjoyed asked ask want wanted wants wish
    request requested similar close closely match matches matched fits fit placed ranked higher lower
    top first here there which who what why how also may might more most very one just same kind
    something anything pick picked choice taste interest interests mood fan favourite favorite
    recommend recommended suggestion reads read watched watch listened profile said say says
    not no without avoid avoids avoided sponsored demoted paid""".split()
)
UNGROUNDED_SHARE = 1 / 3  # of the content words; more means the sentence is about something else


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text)


def grounded(sentence: str, item: Item, evidence: Sequence[str], instruction: str) -> str:
    """Why `sentence` cannot be shown (empty when it can)."""
    s = clean_text(sentence, MAX_CHARS + 1)
    if not MIN_CHARS <= len(s) <= MAX_CHARS:
        return "wrong length"
    if not s.endswith("."):
        return "unfinished"
    if s.count(".") + s.count("!") + s.count("?") > 1 or "\n" in sentence:
        return "more than one sentence"
    if set(find_injection(s)) - OWN_VOICE:
        return "addresses an agent"
    lowered = [w.lower() for w in _words(s)]
    trigrams = list(zip(lowered, lowered[1:], lowered[2:]))
    if len(set(trigrams)) < len(trigrams):
        return "repeats itself"  # small models loop ("a fantasy world, a fantasy world, and ...")
    allowed_text = " ".join([item.title, item.creator, item.text, " ".join(str(e) for e in evidence), instruction])
    allowed = {w.lower() for w in _words(allowed_text)}
    words = _words(s)
    for i, w in enumerate(words):
        lower = w.lower()
        if lower in allowed or lower in _FUNCTION:
            continue
        if _NUMBER.search(w):
            return f"number {w!r} is not in the evidence"
        if i > 0 and w[:1].isupper():
            return f"name {w!r} is not in the item or the evidence"
    content = [w.lower() for w in words if len(w) > 3 and w.lower() not in _FUNCTION]
    stems = {w[:5] for w in allowed}
    loose = [w for w in content if w not in allowed and w[:5] not in stems]
    if content and len(loose) > UNGROUNDED_SHARE * len(content):
        return f"says things the evidence does not ({', '.join(loose[:3])})"
    anchors = {w.lower() for e in evidence for w in _words(e) if len(w) > 3 and w.lower() not in _FUNCTION}
    anchors |= {w.lower() for w in _words(item.title) if len(w) > 3}
    if anchors and not anchors & {w.lower() for w in words}:
        return "does not point at any evidence"
    return ""


class Explainer(UsesModel):
    """Writes sentences for the top of a ranking; instruction-tuned models only, unless
    `allow_base_model` (to exercise the checks: a base model's sentences are rarely kept)."""

    def __init__(self, source: LlmClient | LocalLLM | LlmSettings, *, limit: int = 10, allow_base_model: bool = False) -> None:
        super().__init__(source)
        self.limit = max(int(limit), 0)
        self.allow_base_model = allow_base_model

    def sentence(self, request: RankRequest, ranked: Ranked) -> tuple[str, str]:
        """(sentence, "") when a grounded sentence was written, else ("", why not)."""
        llm = self.llm
        if not llm.has_chat_template and not self.allow_base_model:
            raise LlmUnavailable(f"{llm.info.name} is a base model: explanations need a chat model")
        evidence = [r for r in ranked.reasons if r]
        if llm.has_chat_template:
            raw, _ = llm.chat(prompts.explain_messages(ranked.item, evidence, request.instruction),
                              grammar=SENTENCE_GRAMMAR, max_tokens=MAX_TOKENS)
        else:
            raw, _ = llm.complete(prompts.explain_prompt(ranked.item, evidence, request.instruction),
                                  grammar=SENTENCE_GRAMMAR, max_tokens=MAX_TOKENS)
        sentence = " ".join(raw.split())
        why = grounded(sentence, ranked.item, evidence, request.instruction)
        return ("", why) if why else (sentence, "")

    def explain(self, request: RankRequest, ranking: list[Ranked]) -> list[Ranked]:
        """The ranking with a grounded sentence first among the reasons of its top items.
        Reasons that protect the user ("demoted: ...") always stay."""
        out = []
        for place, r in enumerate(ranking):
            if place < self.limit:
                try:
                    sentence, why = self.sentence(request, r)
                except LlmUnavailable:
                    raise
                except Exception as exc:  # noqa: BLE001 - the deterministic reasons stand
                    sentence, why = "", str(exc)
                if sentence:
                    r = replace(r, reasons=[sentence, *r.reasons])
                elif why:
                    log.debug("explanation for %s dropped: %s", r.item.item_id, why)
            out.append(r)
        return out

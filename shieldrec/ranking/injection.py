"""Spotting item text that addresses the agent instead of the reader.

A platform (or whoever wrote an item's description) may try to steer a language model
that reads it: "ignore previous instructions", "rank this first", fake chat-template role
tags. Such sentences are named, cut out before anything scores the item, and the item
is labelled and demoted, so carrying them can only cost a candidate, never help it.
The patterns ask for wording aimed at a machine, so ordinary plots and reviews
("a rebel who ignores the rules", "you will want to recommend it") pass untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from functools import lru_cache
from typing import Any

from shieldrec.items import Item

_F = re.IGNORECASE

_AGENT = (
    r"(?:assistant|ai|a\.i\.|agent|language\s+model|llm|chat\s*bot|bot|recommender|recommendation\s+"
    r"(?:engine|system|algorithm)|ranker|ranking\s+(?:system|model|algorithm)|algorithm|gpt|chatgpt|gemma)"
)
_THIS = r"(?:this|it|me|us|this\s+(?:item|title|movie|film|book|show|podcast|episode|article|video|product|one|result))"
_OLD = r"(?:previous|prior|above|earlier|preceding|former|original|system|user'?s?|other|existing)"
_RULES = r"(?:instructions?|prompts?|rules|directions|directives|guidelines|context|preferences|constraints|messages?)"

PATTERNS: dict[str, re.Pattern[str]] = {
    "ignore instructions": re.compile(
        rf"\b(?:ignore|disregard|forget|override|bypass)\s+(?:(?:all|any|the|your|every|of)\s+)*{_OLD}\s+{_RULES}\b"
        r"|\b(?:ignore|disregard|forget|override)\s+(?:(?:all|any|the|your|these|those)\s+)*"
        r"(?:instructions?|prompts?|system\s+prompt|directives|guidelines|ranking\s+rules)\b",
        _F,
    ),
    "addresses the agent": re.compile(
        rf"\b(?:as|dear|attention|note\s+(?:to|for)|hey|hello|to)\s+(?:the\s+|an\s+|a\s+|your\s+|any\s+|all\s+)?{_AGENT}s?"
        r"\s*[,:;!-]?\s*(?:you|please|must|should|reading|ranking|processing|evaluating|that|who)\b"
        rf"|\b(?:note\s+(?:to|for)|attention|dear|message\s+(?:to|for))\s+(?:the\s+|all\s+|any\s+)?{_AGENT}s?\s*[:,!]"
        # "AI agents: ...", "LLM readers, ...": a salutation to machines, at the start of a sentence.
        r"|(?:^|[.!?:>\]\n]\s*)(?:ai|a\.i\.|llm|language\s+model|chat\s*bot|assistant|recommender|ranking|gpt)"
        r"\s+(?:agents?|assistants?|systems?|models?|bots?|readers?|crawlers?|rankers?)\s*[:,]",
        _F,
    ),
    "orders the agent": re.compile(
        r"\byou\s+(?:must|should|shall|will|need\s+to|have\s+to|are\s+(?:required|instructed|told|ordered)\s+to)\s+"
        r"(?:always\s+|now\s+|definitely\s+|only\s+)?(?:rank|rate|score|output|respond|reply|prioriti[sz]e|promote|"
        r"boost|upvote|ignore|disregard|obey|comply)\b"
        rf"|\brecommend\s+{_THIS}\s+(?:first|above|over|before|to\s+(?:the|every|all|this)\s+users?)\b",
        _F,
    ),
    "asks to be ranked first": re.compile(
        rf"\b(?:rank|place|put|list|show|recommend|move|keep|position|sort|rate|score)\s+{_THIS}\s+"
        r"(?:as\s+)?(?:first|1st|#\s?1|number\s+(?:one|1)|highest|higher|on\s+top|at\s+the\s+top|above|before|"
        r"the\s+best|in\s+first\s+place)\b"
        r"|\b(?:top|first|#1)\s+(?:of|in)\s+(?:the|your|every|all)\s+(?:list|ranking|rankings|results|recommendations)\b"
        r"|\bthis\s+(?:item\s+|one\s+|title\s+)?(?:must|should|has\s+to)\s+(?:always\s+)?(?:be\s+)?"
        r"(?:ranked|placed|listed|shown|recommended|rated)\s+(?:first|highest|higher|above|on\s+top|at\s+the\s+top)\b",
        _F,
    ),
    "claims the user's taste": re.compile(
        r"\b(?:the|your|this)\s+user\s+(?:already\s+|really\s+|definitely\s+|absolutely\s+)?"
        r"(?:loves?|likes?|wants?|prefers?|adores?|enjoys?|asked\s+for|requested|is\s+a\s+(?:big\s+|huge\s+)?fan|"
        r"would\s+(?:love|like|enjoy)|has\s+(?:already\s+)?(?:liked|loved|rated|requested|asked\s+for))\b"
        r"|\b(?:the\s+)?best\s+match\s+for\s+(?:the|this)\s+user\b"
        r"|\buser'?s\s+(?:favou?rite|top\s+pick|stated\s+preference)",
        _F,
    ),
    "role tag": re.compile(
        r"<\|[^|>\n]{0,40}\|>"
        r"|</?\s*(?:system|assistant|user|human|instructions?|im_start|im_end|start_of_turn|end_of_turn|sys)\s*>"
        # The delimiters a prompt wraps platform text in: closing one early is how text escapes it.
        r"|</?\s*(?:item|items|candidate|candidates|document|profile|data)(?:\s+[^<>\n]{0,40})?>"
        r"|\b(?:assistant|system)\s*:\s*(?:i\s+(?:will|shall|must|recommend)|you\s+(?:must|should|will)|ignore|rank)\b"
        r"|<<\s*/?\s*SYS\s*>>"
        r"|\[/?\s*(?:INST|SYS|SYSTEM|ASSISTANT|USER)\s*\]"
        r"|^\s*(?:system|assistant)\s*:",
        _F | re.MULTILINE,
    ),
    "instruction header": re.compile(
        r"#{2,}\s*(?:new\s+|updated\s+)?(?:instructions?|system|response|assistant|user|input|task|prompt)\b\s*:?",
        _F,
    ),
    "prompt override": re.compile(
        r"\b(?:new|updated|real|actual|hidden|secret|override)\s+(?:system\s+)?(?:instructions?|prompt|orders|directives?)\s*:"
        r"|\bsystem\s+prompt\s*:"
        r"|\bdo\s+not\s+(?:tell|inform|show|mention\s+(?:this\s+)?to)\s+the\s+user\b"
        r"|\b(?:give|assign|award)\s+(?:this|it)\s+(?:a\s+|the\s+)?(?:score|rating|relevance(?:\s+score)?)\s+(?:of\s+)?\d"
        r"|\b(?:give|assign|award)\s+(?:this|it|me)\s+(?:the\s+|a\s+)?(?:top|highest|best|maximum|max|first|perfect)\s+"
        r"(?:score|rating|rank|ranking|spot|place|position|relevance)\b",
        _F,
    ),
    # What the user already did, said by the item: only the user's own history may say that.
    "claims the user's history": re.compile(
        r"\byou(?:'ve|\s+have)?\s+(?:already\s+|previously\s+|recently\s+|just\s+)?(?:liked|loved|rated|saved|"
        r"bookmarked|favou?rited|added|bought|purchased|requested|asked\s+for)\s+(?:this|it|me)\b"
        r"|\b(?:based\s+on|according\s+to|matches|matching|from|in)\s+your\s+(?:viewing\s+|reading\s+|watch\s+)?"
        r"(?:history|profile|preferences|ratings|watch\s*list|reading\s+list|favou?rites|likes)\b",
        _F,
    ),
    # Dressed as the agent's own answer: its name, its labels, its reasons.
    "imitates the agent's answer": re.compile(
        r"\bshield\s*rec\b"
        r"|\b(?:recommended|picked|chosen|selected|verified|approved)\s+(?:for\s+you\s+)?by\s+your\s+"
        r"(?:agent|assistant|recommender)\b"
        r"|\[(?:new\s+to\s+you|top\s+pick|best\s+match|verified|safe|trusted)\]"
        r"|\b(?:relevance|match)(?:\s+score)?\s*[:=]\s*[+]?\d"
        r"|\bwhy\s*:\s*(?:you|because|similar|close|tagged)\b"
        r"|\bsimilar\s+in\s+description\s+to\b|\bwhich\s+you\s+(?:liked|loved|rated|finished|saved|like|love)\b",
        _F,
    ),
    # An honest description has no reason to say what it is not.
    "denies being paid": re.compile(
        r"\bnot\s+(?:an?\s+)?(?:ad|advert|advertisement|sponsored)(?:\s+(?:content|post|pick|placement|listing))?"
        r"\s*(?:[.!,;:)\]—–-]|$)"
        r"|\b(?:no|zero|without)\s+(?:paid|sponsored)\s+(?:placement|promotion|content|partnership)\b"
        r"|\b(?:unsponsored|non-sponsored|ad-free\s+pick)\b|#\s*not\s*(?:an\s*)?(?:ad|sponsored)\b"
        r"|\b(?:100%|purely|genuinely|completely)\s+(?:organic|independent|unpaid|honest)\s+"
        r"(?:pick|recommendation|result|listing|placement)\b",
        _F,
    ),
}

# How ShieldRec itself speaks about the user ("close to Contact, which you liked"): in a platform's
# text an imitation, in the agent's own explanations its voice.
OWN_VOICE = frozenset({"imitates the agent's answer", "claims the user's history"})

# Sentences end at . ! ? a line break, or a closing chat-template tag. The space after a
# sentence stays with it, so cutting one leaves the rest exactly as it would read had the
# sentence never been there.
_BOUNDARY = re.compile(
    r"[.!?]+[\"'’”)\]]*[^\S\n]*\n?"
    r"|\n[^\S\n]*"
    r"|(?:\[/\s*(?:INST|SYS|SYSTEM|ASSISTANT|USER)\s*\]|<\|?\s*(?:im_end|end_of_turn|eot_id|/s)\s*\|?>"
    r"|<<\s*/\s*SYS\s*>>|</\s*(?:system|assistant|user|human|instructions?|sys)\s*>)[^\S\n]*\n?",
    _F,
)


# Letters of other scripts that read as Latin ones: "Ignоre" with a Cyrillic о escapes every pattern.
_LOOKALIKE = str.maketrans(
    "аеорсухіјѕԁһӏԛԝοαειρτυνκχАВЕКМНОРСТХІЈЅΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhlqwoaeiptuvkxABEKMHOPCTXIJSABEZHIKMNOPTYX",
)
_MIXED = re.compile(r"[^\W\d_]*(?:[A-Za-z][^\W\d_]*[^\x00-\x7f]|[^\x00-\x7f][^\W\d_]*[A-Za-z])[^\W\d_]*")
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
# Markup for rich terminals and forum renderers ("[bold red]WATCH NOW[/bold red]", "[link=…]"): text
# that would act on how it is shown. Counted only with a closing tag, so "[REC]" is a title.
_MARKUP = re.compile(
    r"\[/?(?:b|i|u|s|bold|dim|italic|underline|blink|reverse|strike|conceal|link(?:=[^\]\s]*)?|url(?:=[^\]\s]*)?|"
    r"color(?:=[^\]]*)?|(?:bold\s+|dim\s+|italic\s+)*(?:red|green|blue|yellow|magenta|cyan|white|black)"
    r"(?:\s+on\s+\w+)?)\]",
    re.IGNORECASE,
)
_MARKUP_CLOSE = re.compile(r"\[/[a-z ]*\]", re.IGNORECASE)
HIDING = ("an HTML comment", "look-alike letters", "display markup")  # what `unhide` finds, as `scoring_view` names it


def _fold_word(m: re.Match[str]) -> str:
    word = m.group(0)
    folded = word.translate(_LOOKALIKE)
    return folded if folded.isascii() else word


@lru_cache(maxsize=16384)
def unhide(text: str) -> tuple[str, tuple[str, ...]]:
    """`text` as a reader would take it (look-alike letters inside Latin words read as the Latin
    ones; HTML comments, which a page never shows, and display markup cut out), and the kinds of
    hiding found."""
    if not text or (text.isascii() and "<!--" not in text and "[/" not in text):
        return text, ()
    found = []
    if "[/" in text and _MARKUP_CLOSE.search(text) and _MARKUP.search(text):
        text = _MARKUP.sub(" ", text)
        found.append("display markup")
    if "<!--" in text:
        text = _COMMENT.sub(" ", text)
        found.append("an HTML comment")
    if not text.isascii():
        folded = _MIXED.sub(_fold_word, text)
        if folded != text:
            found.append("look-alike letters")
            text = folded
    return re.sub(r"[^\S\n]{2,}", " ", text).strip(), tuple(found)


def _sentences(text: str) -> list[str]:
    out, start = [], 0
    for m in _BOUNDARY.finditer(text):
        out.append(text[start : m.end()])
        start = m.end()
    if start < len(text):
        out.append(text[start:])
    return out


def find_injection(text: str) -> list[str]:
    """Names of the injection patterns found in `text` (empty when it is clean)."""
    if not text:
        return []
    return list(_find(text))


@lru_cache(maxsize=16384)
def _find(text: str) -> tuple[str, ...]:
    return tuple(name for name, pattern in PATTERNS.items() if pattern.search(text))


@lru_cache(maxsize=16384)
def strip_injection(text: str) -> str:
    """`text` with every sentence that carries an injection pattern cut out."""
    if not text or not _find(text):
        return text
    kept = "".join(s for s in _sentences(text) if not _find(s)).strip()
    # A pattern spread over two sentences survives the cut; then its words themselves go.
    for _ in range(3):
        if not _find(kept):
            break
        for pattern in PATTERNS.values():
            kept = pattern.sub(" ", kept)
        kept = re.sub(r"[^\S\n]{2,}", " ", kept).strip()
    return kept


def _meta_strings(value: Any, depth: int = 0) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif depth < 6 and isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _meta_strings(item, depth + 1)
    elif depth < 6 and isinstance(value, (list, tuple)):
        for item in value:
            yield from _meta_strings(item, depth + 1)


def _strip_meta(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return strip_injection(unhide(value)[0])
    if depth < 6 and isinstance(value, dict):
        return {strip_injection(str(k)): _strip_meta(v, depth + 1) for k, v in value.items()}
    if depth < 6 and isinstance(value, (list, tuple)):
        return [kept for v in value if (kept := _strip_meta(v, depth + 1)) != ""]
    return value


def scoring_view(item: Item) -> tuple[Item, list[str]]:
    """The item as scorers may read it: hidden text unhidden (`unhide`) and every sentence aimed at
    the agent cut from every field a platform wrote (title, text, creator and each string of its
    metadata, such as genres and tags); and the names of what was found: the patterns, then the
    kinds of hiding (`HIDING`). The same item when it is clean."""
    (title, h1), (text, h2), (creator, h3) = unhide(item.title), unhide(item.text), unhide(item.creator)
    meta_found = [name for value in _meta_strings(item.meta) for name in _find(unhide(value)[0])]
    found = list(dict.fromkeys([*_find(title), *_find(text), *_find(creator), *meta_found, *h1, *h2, *h3]))
    if not found:
        return item, []
    view = replace(
        item,
        title=strip_injection(title) or "untitled",
        text=strip_injection(text),
        creator=strip_injection(creator),
        meta=_strip_meta(item.meta) if meta_found else item.meta,
    )
    return view, found

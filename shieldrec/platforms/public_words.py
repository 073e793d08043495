"""Which words are known to be public: the test every word must pass before it leaves the machine.

A word is public when a word-frequency list (wordfreq, shipped with its data) says it is
common in a language ShieldRec checks, when it names a genre or a format, or when a platform
itself sent it (its catalogue's own vocabulary). Anything else (a name, a made-up word, a word
of a language not checked) stays home. Very common words (articles, pronouns) are not worth
sending, and words about the people in a user's life, their health or their age are private
in every language checked, however common they are.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection

MIN_ZIPF = 3.0  # at least once per million words (wordfreq's "small" lists hold exactly these)
FUNCTION_ZIPF = 6.0  # a thousand times per million or more: articles, pronouns, "de", "los"

# Languages checked, by script; a word in any other script (Chinese, Japanese...) stays home.
LATIN = ("en", "es", "fr", "de", "it", "pt", "nl")
_SCRIPTS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"^[\u0400-\u04ff]+$"), ("ru", "uk", "bg")),
    (re.compile(r"^[\u0370-\u03ff\u1f00-\u1fff]+$"), ("el",)),
    (re.compile(r"^[\u0600-\u06ff\u0750-\u077f\u200c]+$"), ("ar", "fa", "ur")),
    (re.compile(r"^[\u0590-\u05ff]+$"), ("he",)),
    (re.compile(r"^[\u0900-\u097f\u200c\u200d]+$"), ("hi",)),
    (re.compile(r"^[\uac00-\ud7af]+$"), ("ko",)),
)
_LATIN_WORD = re.compile(r"^[a-zà-öø-ÿĀ-ſ'’-]+$")

# Genres and formats people ask for that a frequency list misses or ranks as rare.
GENRE_TERMS = frozenset("""
    sci-fi scifi sf cyberpunk steampunk solarpunk dieselpunk biopunk dystopian dystopia utopian cli-fi
    space-opera noir neo-noir whodunit whodunnit thriller thrillers horror comedy comedies romcom rom-com
    romcoms dramedy documentary documentaries docuseries docudrama mockumentary biopic biopics anime manga
    manhwa webtoon graphic audiobook audiobooks podcast podcasts miniseries sitcom sitcoms telenovela k-drama
    kdrama bollywood anthology western westerns fantasy grimdark litrpg cozy cosy heist slasher splatter
    zombie zombies vampire vampires kaiju mecha isekai shonen shounen shojo shoujo seinen josei wuxia xianxia
    giallo gothic paranormal supernatural post-apocalyptic apocalyptic time-travel spy espionage swashbuckler
    mystery mysteries romance romantic musical musicals animation animated stop-motion claymation cartoon
    cartoons superhero superheroes fairytale fairytales folklore mythology myth myths satire parody
    sci-fantasy speculative literary memoir memoirs essays poetry novella novellas novelette short-stories
    young-adult ya middle-grade picture-book nonfiction non-fiction true-crime standup stand-up
    lofi lo-fi jazz blues bluegrass folk indie synthwave vaporwave shoegaze dubstep techno ambient
""".split())

# Private however common: the people around a user, their health, their age, in the languages
# checked besides English (English has its own clause rules in `planning`). Words that are also
# ordinary English topics ("man", "chef", "arts") are left out so English queries keep them.
PRIVATE_WORDS = frozenset("""
    hija hijas hijo hijos esposa esposo marido novia novio madre padre mamá papá abuela abuelo hermana
    hermano tía tío sobrina sobrino prima primo bebé jefe jefa amiga amigo médico médica terapeuta años
    cumpleaños embarazada enfermo enferma cáncer depresión ansiedad divorcio hospital triste
    fille filles fils mari copine copain mère père maman grand-mère grand-père sœur soeur frère tante oncle
    nièce neveu cousine bébé amie médecin thérapeute anniversaire enceinte malade dépression
    anxiété hôpital
    tochter töchter sohn söhne ehefrau ehemann freundin freund mutter vater oma opa großmutter großvater
    schwester bruder onkel nichte neffe chefin arzt ärztin therapeut therapeutin jahre jahren
    geburtstag schwanger krank krebs scheidung krankenhaus traurig
    figlia figlie figlio figli moglie marito ragazza ragazzo mamma papà nonna nonno sorella fratello zia zio
    nipote bambino bambina amica amico compleanno incinta malato malata cancro depressione divorzio
    ospedale
    filha filho esposa namorada namorado mãe pai avó avô irmã irmão tia tio sobrinha sobrinho bebê chefe
    anos aniversário grávida doente câncer depressão divórcio
    dochter zoon echtgenote vriendin vriend moeder vader zus zuster broer oom dokter jaar verjaardag
    zwanger ziek kanker depressie scheiding ziekenhuis verdrietig
""".split())


@functools.lru_cache(maxsize=64)
def _frequencies(lang: str) -> dict[str, float] | None:
    try:
        from wordfreq import get_frequency_dict
    except ImportError:  # without the lists nothing can be shown to be common: nothing is sent
        return None
    try:
        return get_frequency_dict(lang, wordlist="small")
    except (LookupError, ValueError):
        return None


@functools.lru_cache(maxsize=64)
def _function_words(lang: str) -> frozenset[str]:
    frequencies = _frequencies(lang) or {}
    return frozenset(w for w, f in frequencies.items() if f >= 10 ** (FUNCTION_ZIPF - 9))


@functools.lru_cache(maxsize=8192)
def languages_for(word: str) -> tuple[str, ...]:
    if _LATIN_WORD.match(word):
        return LATIN
    for pattern, langs in _SCRIPTS:
        if pattern.match(word):
            return langs
    return ()


def guess_language(words: Collection[str]) -> str:
    """The checked language whose list knows most of `words` (English on a tie): whose
    articles and pronouns are not worth sending."""
    best, best_known = "en", -1
    for lang in dict.fromkeys(["en", *(lang for w in words for lang in languages_for(w))]):
        frequencies = _frequencies(lang) or {}
        known = sum(1 for w in words if w in frequencies)
        if known > best_known:
            best, best_known = lang, known
    return best


def _base(word: str) -> str:
    return word[:-2] if word.endswith(("'s", "’s")) else word


def is_public(word: str, vocabulary: Collection[str] = (), language: str = "en") -> bool:
    """Whether `word` (lower case) may leave the machine: known to be public, never merely
    not known to be private. `language` is the request's (`guess_language`)."""
    base = _base(word)
    if base in PRIVATE_WORDS or base in _function_words(language):
        return False
    if base in GENRE_TERMS or base in vocabulary or word in vocabulary:
        return True
    for lang in languages_for(base):
        frequencies = _frequencies(lang)
        if frequencies is not None and base in frequencies:
            return True
    return False


def warm() -> None:
    """Load the word lists now (about half a second, once per process), off the caller's clock."""
    for lang in LATIN:
        _function_words(lang)


def catalogue_words(texts: Collection[str]) -> frozenset[str]:
    """The words of texts a platform sent (titles, creators, genres): its own vocabulary."""
    return frozenset(w.lower() for text in texts for w in re.findall(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", text))

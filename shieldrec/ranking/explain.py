"""The reasons stage: one to three concrete sentences per item.

A reason names the liked title, the asked-for phrase or the preference that moved the
item, and only when it moved it noticeably. Labels that protect the user (sponsored,
injection attempt) always come with their reason, whatever else is said.
"""

from __future__ import annotations

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

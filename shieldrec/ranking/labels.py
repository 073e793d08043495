"""The labels a ranked item can carry; the terminal app and the CLI show them verbatim."""

from __future__ import annotations

SPONSORED = "sponsored"  # the platform says it is a paid placement
NATIVE_AD = "native ad?"  # not flagged, but its text reads like one
INJECTION = "injection attempt"  # its text tries to instruct the agent
HIDDEN = "hidden codes removed"  # it carried escapes, bidi overrides or tag characters, now cleaned out
STUFFED = "keyword stuffing"  # its text repeats or lists words to please the ranker
NEW = "new to you"  # nothing in the user's history matches it

ALL = (SPONSORED, NATIVE_AD, INJECTION, HIDDEN, STUFFED, NEW)
# Caught trying to steer the ranking: ranked after every item that was not.
CAUGHT = frozenset({INJECTION, HIDDEN, STUFFED})

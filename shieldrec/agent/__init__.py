"""The agent session layer: conversation, follow-ups, feedback and learned memory, with no UI.

    from shieldrec.agent import AgentSession
    session = AgentSession(store, profile, settings)

Names load on first use, so importing the package (or `shieldrec.agent.threads`) stays light;
torch and the models load on the first search.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shieldrec.lazy import lazy_exports

if TYPE_CHECKING:
    from shieldrec.agent.feedback import Feedback, NothingToUndo
    from shieldrec.agent.followup import Reading, resolve
    from shieldrec.agent.memory import MemoryChange
    from shieldrec.agent.session import AgentSession
    from shieldrec.agent.turn import Card, Dropped, Turn

_EXPORTS = {
    "AgentSession": "session",
    "Card": "turn",
    "Dropped": "turn",
    "Feedback": "feedback",
    "MemoryChange": "memory",
    "NothingToUndo": "feedback",
    "Reading": "followup",
    "Turn": "turn",
    "resolve": "followup",
}

__all__ = ["AgentSession", "Card", "Dropped", "Feedback", "MemoryChange", "NothingToUndo", "Reading", "Turn",
           "resolve"]


__getattr__ = lazy_exports(__name__, _EXPORTS, globals())

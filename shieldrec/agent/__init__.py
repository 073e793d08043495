"""The agent session layer: conversation, follow-ups, feedback and learned memory, with no UI.

Importing this package stays light: torch and the models load on the first search.
"""

from shieldrec.agent.feedback import Feedback, NothingToUndo
from shieldrec.agent.followup import Reading, resolve
from shieldrec.agent.memory import MemoryChange
from shieldrec.agent.session import AgentSession
from shieldrec.agent.turn import Card, Dropped, Turn

__all__ = ["AgentSession", "Card", "Dropped", "Feedback", "MemoryChange", "NothingToUndo", "Reading", "Turn",
           "resolve"]

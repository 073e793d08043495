"""What every screen beside the chat shares: header, function keys, footer, the open session."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from shieldrec.tui.widgets import FunctionKeys

if TYPE_CHECKING:
    from shieldrec.agent import AgentSession
    from shieldrec.store import Profile, Store
    from shieldrec.tui.app import ShieldRecApp


class Page(Screen[None]):
    app: ShieldRecApp
    NAME = ""  # its function key's id: app.<NAME>

    @property
    def session(self) -> AgentSession:
        session = self.app.session
        assert session is not None, "pages open only with a profile"
        return session

    @property
    def store(self) -> Store:
        return self.session.store

    @property
    def profile(self) -> Profile:
        return self.session.profile

    def bottom(self) -> ComposeResult:
        """The function keys, then what the focused part can do."""
        yield FunctionKeys(self.NAME, self.app.keymap)
        yield Footer(compact=True, show_command_palette=False)


def selected_key(table: DataTable) -> str | None:
    """The row key under the table's cursor, or None for an empty table."""
    if table.row_count == 0:
        return None
    try:
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
    except Exception:  # noqa: BLE001 - no valid cursor
        return None
    return key.value

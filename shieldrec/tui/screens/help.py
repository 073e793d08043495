"""F1 / ?: every key, as it is bound now (remaps from config.toml included)."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from shieldrec.tui import keys
from shieldrec.tui.screens.modals import Dialog

INTRO = (
    "Type what you want in your own words; follow up with “more like the second one”, “no, shorter”, "
    "“only books”, or ask “why not Dune?”. Only public keywords leave this machine; your profile never does. "
    "↑ recalls earlier requests; ↓ moves to the results, where the keys below teach ShieldRec. "
    "Every key that changes your profile can be undone (Ctrl+Z); a block that takes out several picks asks first."
)
OUTRO = (
    "Command palette: Ctrl+P reaches every action.  Tab and Shift+Tab move between the parts of a screen or "
    "dialog; Esc closes a dialog.  Remap any key in config.toml under [tui.keys], e.g. \"card.like\" = \"plus\"."
)


def keys_table(keymap: dict[str, str]) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
    table.add_column("key", style="bold", no_wrap=True, width=18)
    table.add_column("does")
    table.add_column("id", style="dim", no_wrap=True)
    for _group, (title, group_keys) in keys.GROUPS.items():
        table.add_row(Text(title, style="bold underline"), Text(""), Text(""))
        for k in group_keys:
            table.add_row(Text(keys.display(keys.effective(k, keymap))), Text(k.description), Text(k.id))
    return table


class Help(Dialog):
    DEFAULT_CSS = """
    Help > .box { width: 96; height: 90%; }
    Help #help-keys { height: 1fr; }
    """

    def __init__(self, keymap: dict[str, str]) -> None:
        super().__init__()
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static(Text("ShieldRec — keys"), classes="title")
            yield Static(Text(INTRO), classes="hint")
            with VerticalScroll(id="help-keys"):
                yield Static(keys_table(self.keymap))
            yield Static(Text(OUTRO), classes="hint")
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#help-keys").focus()

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)

"""Small dialogs: confirmations, a prompt, lists to pick from, forms, what was removed.

Every dialog opens with its first field focused, Tab and Shift+Tab walk its fields and
buttons top to bottom, left to right, and the field in focus carries a bar on its left
edge (visible without colour too). Esc closes a dialog without doing anything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static, Switch, TextArea
from textual.widgets.option_list import Option

from shieldrec.tui import keys
from shieldrec.tui.safe import plain

# What a dialog focuses first: its first field, else its first button.
FIELDS = "Input, Select, TextArea, Switch, OptionList, Button"


class Dialog(ModalScreen[Any]):
    """A centred box; Esc closes it with no answer."""

    BINDINGS = keys.bindings("dialog")
    AUTO_FOCUS = FIELDS
    DEFAULT_CSS = """
    Dialog { align: center middle; }
    Dialog > .box { width: 76; max-width: 96%; height: auto; max-height: 90%; border: thick $accent;
                    background: $surface; padding: 0 1; }
    Dialog .title { text-style: bold; margin-bottom: 1; }
    Dialog .error { color: $error; text-style: bold; }
    Dialog .buttons { height: auto; align-horizontal: right; margin-top: 1; }
    Dialog .buttons Button { margin-left: 1; }
    Dialog .hint { color: $text-muted; }
    Dialog .fields { height: auto; max-height: 55vh; }
    Dialog .fields Label { margin-top: 1; }
    Dialog #removed-list { height: auto; max-height: 60vh; }
    Dialog OptionList { border-top: none; border-right: none; border-bottom: none; padding: 0; max-height: 50vh; }
    Dialog OptionList:focus { border-top: none; border-right: none; border-bottom: none; }
    Dialog Button:focus { text-style: bold reverse; }
    """

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


def field_input(value: str = "", **kwargs: Any) -> Input:
    """A one-line field that keeps what is in it when it gets the focus (no select-all to type over)."""
    return Input(value, compact=True, select_on_focus=False, **kwargs)


class OnOff(Horizontal):
    """A switch that says its state in words beside it, so it reads without colour."""

    DEFAULT_CSS = """
    OnOff { height: auto; width: auto; }
    OnOff .state { width: 4; margin-left: 1; text-style: bold; }
    """

    def __init__(self, value: bool, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self._initial = value

    def compose(self) -> ComposeResult:
        yield Switch(self._initial)
        yield Static(self._word(self._initial), classes="state")

    @staticmethod
    def _word(value: bool) -> Text:
        return Text("on" if value else "off")

    @property
    def value(self) -> bool:
        return self.query_one(Switch).value

    @value.setter
    def value(self, value: bool) -> None:
        self.query_one(Switch).value = value

    @on(Switch.Changed)
    def _changed(self, event: Switch.Changed) -> None:
        self.query_one(".state", Static).update(self._word(event.value))


class Ask(Dialog):
    """A yes/no question before something a single key would otherwise do at once. Enter answers
    with the button in focus: "yes" for what can be undone, "no" (`final=True`) for what cannot."""

    def __init__(self, title: str, body: str, yes: str = "Yes", no: str = "Cancel", *, final: bool = False) -> None:
        super().__init__()
        self.title_text, self.body, self.yes, self.no, self.final = title, body, yes, no, final

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static(plain(self.title_text, 300), classes="title")
            yield Static(plain(self.body, 2000, multiline=True))
            with Horizontal(classes="buttons"):
                yes = Button(Text(self.yes), variant="error" if self.final else "warning", id="yes")
                no = Button(Text(self.no), id="no")
                yield from (no, yes) if self.final else (yes, no)

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)


class Confirm(Dialog):
    """Asks the user to type a word (the profile's name) before something irreversible."""

    def __init__(self, title: str, body: str, word: str, button: str = "Delete") -> None:
        super().__init__()
        self.title_text, self.body, self.word, self.button = title, body, word, button

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static(plain(self.title_text, 200), classes="title")
            yield Static(plain(self.body, 2000, multiline=True))
            yield Static(plain(f"Type {self.word} to confirm:", 200), classes="hint")
            yield field_input(placeholder=self.word, id="word")
            yield Static("", classes="error", id="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(Text(self.button), variant="error", id="ok")

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted, "#word")
    def _ok(self) -> None:
        if self.query_one("#word", Input).value.strip() == self.word:
            self.dismiss(True)
        else:
            self.query_one("#error", Static).update(plain(f"That is not '{self.word}'; nothing was deleted.", 200))


class Prompt(Dialog):
    """One line of text (a path, a title, a token); `password` hides what is typed."""

    def __init__(self, title: str, body: str = "", value: str = "", *, password: bool = False,
                 placeholder: str = "", button: str = "OK") -> None:
        super().__init__()
        self.title_text, self.body, self.value = title, body, value
        self.password, self.placeholder, self.button = password, placeholder, button

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static(plain(self.title_text, 200), classes="title")
            if self.body:
                yield Static(plain(self.body, 2000, multiline=True), classes="hint")
            yield field_input(self.value, placeholder=self.placeholder, password=self.password, id="value")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(Text(self.button), variant="primary", id="ok")

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted, "#value")
    def _ok(self) -> None:
        field = self.query_one("#value", Input)
        value = field.value
        field.value = ""  # a token never stays in a widget longer than it must
        self.dismiss(value)


class Choose(Dialog):
    """Pick one of a few options (a topic to block, a profile)."""

    def __init__(self, title: str, options: Sequence[tuple[str, Text | str]], body: str = "") -> None:
        super().__init__()
        self.title_text, self.options, self.body = title, list(options), body

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static(plain(self.title_text, 200), classes="title")
            if self.body:
                yield Static(plain(self.body, 1000, multiline=True), classes="hint")
            yield OptionList(*[Option(p if isinstance(p, Text) else plain(p, 300), id=key)
                               for key, p in self.options], id="options")

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class Removed(Dialog):
    """Everything the shield kept out of one answer, each with its reason. The list has the
    focus, so the arrow keys scroll it; Enter or Esc closes."""

    AUTO_FOCUS = "#removed-list"
    BINDINGS = [*keys.bindings("dialog"), ("enter", "dismiss_none", "Close")]

    def __init__(self, title: str, rows: Sequence[tuple[str, str, str]]) -> None:
        super().__init__()
        self.title_text, self.rows = title, list(rows)

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static(plain(self.title_text, 200), classes="title")
            with VerticalScroll(id="removed-list"):
                if not self.rows:
                    yield Static("Nothing was removed from this answer.")
                for title, creator, reason in self.rows:
                    text = Text()
                    text.append_text(plain(title, 200, style="bold"))
                    if creator:
                        text.append(" — ", style="dim")
                        text.append_text(plain(creator, 100, style="italic"))
                    text.append("\n  ")
                    text.append_text(plain(reason, 300))
                    yield Static(text, classes="removed-row")
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close", variant="primary")

    @on(Button.Pressed, "#close")
    def _close(self) -> None:
        self.dismiss(None)


Check = Callable[[dict[str, Any]], Any]


class Form(Dialog):
    """Labelled fields; `check` turns the values into a result or raises with what to fix.

    `buttons` beyond Cancel: (id, label) pairs; the values passed to `check` carry the id of
    the button pressed under "_button" (Enter in a field counts as the last button)."""

    def __init__(self, title: str, fields: Sequence[tuple[str, str, Any]], check: Check, body: str = "",
                 buttons: Sequence[tuple[str, str]] = (("ok", "Save"),)) -> None:
        """`fields`: (name, label, widget) with widget an Input, Select, TextArea, Switch or OnOff."""
        super().__init__()
        self.title_text, self.fields, self.check, self.body = title, list(fields), check, body
        self.buttons = list(buttons)

    def compose(self) -> ComposeResult:
        with Vertical(classes="box"):
            yield Static(plain(self.title_text, 200), classes="title")
            with VerticalScroll(classes="fields", can_focus=False):
                if self.body:
                    yield Static(plain(self.body, 2000, multiline=True), classes="hint")
                for name, label, widget in self.fields:
                    yield Label(plain(label, 300))
                    widget.id = f"field-{name}"
                    yield widget
            yield Static("", classes="error", id="error")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                for n, (ident, label) in enumerate(self.buttons):
                    last = n == len(self.buttons) - 1
                    yield Button(Text(label), variant="primary" if last else "default", id=ident)

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, _, widget in self.fields:
            if isinstance(widget, TextArea):
                out[name] = widget.text
            elif isinstance(widget, Select):
                out[name] = None if widget.value is Select.BLANK else widget.value
            else:
                out[name] = widget.value
        return out

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id in {ident for ident, _ in self.buttons}:
            event.stop()
            self._submit(event.button.id or "")

    @on(Input.Submitted)
    def _entered(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit(self.buttons[-1][0])

    def _submit(self, button: str) -> None:
        from shieldrec.errors import ShieldRecError

        try:
            result = self.check({**self.values(), "_button": button})
        except (ShieldRecError, ValueError) as exc:
            self.query_one("#error", Static).update(plain(str(exc), 500))
            return
        self.dismiss(result)

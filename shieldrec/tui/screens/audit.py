"""The egress log: every request that left the machine, what it carried, to whom, when."""

from __future__ import annotations

import datetime
import json

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Header, Static

from shieldrec.tui import keys
from shieldrec.tui.safe import plain
from shieldrec.tui.screens.base import Page, selected_key

LIMIT = 500


class AuditScreen(Page):
    BINDINGS = keys.bindings("audit")
    NAME = "audit"

    def compose(self) -> ComposeResult:
        yield Header(icon="◆")
        yield Static(id="audit-head", classes="hint")
        yield DataTable(id="audit", cursor_type="row", zebra_stripes=True)
        yield Static(id="audit-detail")
        yield from self.bottom()

    def on_mount(self) -> None:
        self.sub_title = f"audit · {self.profile.name}"
        # The short columns first, so a narrow terminal cuts only the end of what was sent.
        self.query_one(DataTable).add_columns("when", "to", "status", "in", "ms", "sent")
        self.action_reload()
        self.query_one(DataTable).focus()

    def action_reload(self) -> None:
        entries = self.store.audit.entries(self.profile.id)
        self.entries = {str(e.id): e for e in entries}
        total_out = sum(e.bytes_out for e in entries)
        head = Text(f"{len(entries)} requests left this machine for this profile ({total_out:,} bytes). "
                    "Each was logged before it was sent. Newest first.")
        self.query_one("#audit-head", Static).update(head)
        table = self.query_one(DataTable)
        table.clear()
        for e in reversed(entries[-LIMIT:]):
            when = datetime.datetime.fromtimestamp(e.at).strftime("%m-%d %H:%M:%S")
            table.add_row(Text(when), plain(e.platform, 64), Text(e.state()),
                          Text(f"{e.bytes_in:,}" if e.bytes_in is not None else "-"),
                          Text(f"{e.duration_ms:.0f}" if e.duration_ms is not None else "-"),
                          plain(e.sent(), 200), key=str(e.id))
        self._detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

    def _detail(self) -> None:
        key = selected_key(self.query_one(DataTable))
        entry = self.entries.get(key or "")
        if entry is None:
            self.query_one("#audit-detail", Static).update(Text("Nothing sent yet.", style="dim"))
            return
        out = Text()
        out.append_text(plain(f"{entry.method} {entry.url}", 600, style="bold"))
        out.append("\n")
        out.append_text(plain(json.dumps(entry.params, ensure_ascii=False), 800))
        out.append("\n")
        out.append_text(plain(entry.outcome(), 600, style="dim"))
        self.query_one("#audit-detail", Static).update(out)

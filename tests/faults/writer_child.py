"""A stand-in for the app's write paths, run as its own process by the fault tests.

    python writer_child.py PROFILE MODE [SECONDS [PAUSE]]

MODE `feedback`: likes, undoes every other like, and blocks, through the same functions the
app calls; `likes`: likes only. After each commit it prints `ack <kind> <item id or blocked value>` and flushes, so
the parent knows exactly which writes were acknowledged (and `undoing <id>` before an undo). It runs until killed or for SECONDS,
waiting PAUSE seconds between actions.
"""

from __future__ import annotations

import os
import sys
import time

from shieldrec.agent.feedback import record_block, record_event, undo
from shieldrec.items import Item
from shieldrec.store import Store


def main() -> None:
    name, mode = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 3600.0
    pause = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    store = Store()
    profile = store.profile(name)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
        item = Item(item_id=f"w{os.getpid()}-{n}", title=f"Writer item {n}", creator=f"Writer creator {n % 7}",
                    meta={"genres": ["Drama", f"tag{n % 5}"]})
        fb = record_event(store, profile, item, "like", "something calm")
        print(f"ack event {item.item_id}", flush=True)
        if mode == "feedback" and n % 2 == 0:
            print(f"undoing {item.item_id}", flush=True)  # from here on, the event may be gone
            undo(store, profile, fb)
            print(f"ack undo {item.item_id}", flush=True)
        if mode == "feedback" and n % 5 == 0:
            value = f"blocked-{os.getpid()}-{n}"
            record_block(store, profile, "topic", value)
            print(f"ack pref {value}", flush=True)
        if pause:
            time.sleep(pause)
    store.close()


if __name__ == "__main__":
    main()

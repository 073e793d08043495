"""The first screen paints before torch, sentence-transformers or llama_cpp are imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from shieldrec.store import Store, load_profile_file

from .conftest import REPO

SCRIPT = """
import asyncio, json, sys
from shieldrec.tui.app import ShieldRecApp

async def main():
    app = ShieldRecApp("maya", demo=False)
    async with app.run_test(size=(100, 32)) as pilot:
        for _ in range(1200):
            if app.session is not None and app.session.model_ready:
                break
            await pilot.pause(0.1)
        ready = app.session is not None and app.session.model_ready
    print(json.dumps({"ready": ready, "torch": "torch" in sys.modules}))

asyncio.run(main())
"""


def test_first_paint_happens_before_any_model_library_is_imported(shieldrec_home: Path, tmp_path: Path) -> None:
    store = Store()
    store.import_profile(load_profile_file(REPO / "profiles" / "maya.toml"))
    store.close()
    probe = tmp_path / "probe.json"
    env = {**os.environ, "SHIELDREC_STARTUP_PROBE": str(probe), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    at_paint = json.loads(probe.read_text())["loaded"]
    assert at_paint == {"torch": False, "sentence_transformers": False, "transformers": False, "llama_cpp": False}
    # ...and the same run did load them afterwards, in a worker: the probe watched the right thing.
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"ready": True, "torch": True}

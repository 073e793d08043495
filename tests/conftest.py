"""Shared fixtures: every test gets its own SHIELDREC_HOME, so nothing touches the user's real profile.

The developer's environment is invisible to the tests: ShieldRec's own variables, colour and display settings
and the system keyring are cleared here, at import, before any fixture (session-scoped ones included) runs.
Tests that are not marked `slow` (the fast tier, `pytest -m "not slow"`) may neither load a model nor start a
server: each is stopped with a message that names the marker.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from keyring.backend import KeyringBackend
from keyring.backends import fail
from keyring.errors import PasswordDeleteError

_INHERITED = ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "DISPLAY", "WAYLAND_DISPLAY", "PYTHON_KEYRING_BACKEND",
              "HF_HOME", "SENTENCE_TRANSFORMERS_HOME")
# Kept: the snapshot plug-in's hand-over from the main process to its pytest-xdist workers.
# Also kept: where the data sets that cannot ship lie (shieldrec/eval/sources.py), as the user's own runs read them.
_OURS = ("TEXTUAL_SNAPSHOT_TEMPDIR", "SHIELDREC_DATA", "SHIELDREC_WHEELS")
for _key in list(os.environ):
    if (_key.startswith(("SHIELDREC_", "TEXTUAL")) or _key in _INHERITED) and _key not in _OURS:
        del os.environ[_key]
# Session-scoped fixtures run before any test's own home exists: they get a throw-away one, never the user's.
os.environ["SHIELDREC_HOME"] = tempfile.mkdtemp(prefix="shieldrec-session-")
atexit.register(shutil.rmtree, os.environ["SHIELDREC_HOME"], ignore_errors=True)
# No secret of the developer's: a machine without a keyring, here and in every child process.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
keyring.set_keyring(fail.Keyring())

# The bundled models load from site-packages; nothing may reach for a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

# Property tests: a few hundred examples each in CI, a quick pass on a developer's machine (the fast tier's
# edit-test loop). A failure prints the seed and the example that reproduces it either way. The profile is
# chosen in pytest_configure (below), once the command line is known.
hypothesis_settings.register_profile("ci", max_examples=300, deadline=None, print_blob=True,
                                     suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.register_profile("ci-again", max_examples=40, deadline=None, print_blob=True,
                                     suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.register_profile("dev", max_examples=40, deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])


REPO = Path(__file__).resolve().parent.parent
PROFILES_DIR = REPO / "profiles"
TESTS = Path(__file__).resolve().parent

# Whole folders outside the fast tier: the terminal app, the language model, the service, crashes and
# hostile servers all run real processes, servers or models; the evaluation reads whole data sets.
SLOW_FOLDERS = ("tui", "llm", "serve", "faults", "hostile", "eval")
# Fixtures that load a model or start a server: a test that asks for one is slow wherever it lives.
SLOW_FIXTURES = {"embedder", "make_pipeline", "pipeline", "demo", "llm", "chat_llm", "bundled_gguf", "chat_gguf",
                 "catalogue"}


def pytest_configure(config: pytest.Config) -> None:
    """The Hypothesis profile of this run. In CI (`CI` set) the fast tier (`pytest -m "not slow"`) runs every
    property test outside `slow` with 300 examples; .ci/run runs it first and then, in the same command, the
    whole suite, which would run those same tests again with 300 more. So the whole run, in CI, gives them the
    40 examples of a developer's run: the 300 were spent minutes earlier, on the same tree. The property tests
    that are `slow` (never in the fast tier) set their own `max_examples` (60, with the embedding model or a
    whole app per example), which no profile changes. A developer's machine runs 40 either way.

    Here, not at import: a test module's `settings(...)` takes what it does not set (max_examples) from the
    profile loaded when the module is imported, so the profile must be loaded before collection, and the
    marker expression is known only once the command line is parsed."""
    if not os.environ.get("CI"):
        hypothesis_settings.load_profile("dev")
    elif config.getoption("markexpr", "") == "not slow":
        hypothesis_settings.load_profile("ci")
    else:
        hypothesis_settings.load_profile("ci-again")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        folder = Path(str(item.path)).relative_to(TESTS).parts[0]
        if folder in SLOW_FOLDERS or SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    # Slow tests first, the app's and the language model's (the longest files) before them; each file keeps
    # its order. With `-n 2 --dist loadfile` the workers take files in this order, and the long ones started
    # first do not leave one worker alone at the end.
    items.sort(key=lambda item: (item.get_closest_marker("slow") is None,
                                 Path(str(item.path)).relative_to(TESTS).parts[0] not in ("tui", "llm")))

@pytest.fixture(autouse=True)
def shieldrec_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "shieldrec-home"
    monkeypatch.setenv("SHIELDREC_HOME", str(home))
    return home


def _not_in_the_fast_tier(what: str) -> None:
    raise AssertionError(f"a test outside the fast tier {what}: mark it @pytest.mark.slow")


@pytest.fixture(autouse=True)
def _fast_tier_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test without the `slow` marker loads no model and starts no server (`pytest -m "not slow"` stays fast)."""
    if request.node.get_closest_marker("slow") is not None:
        return

    def listen(self: socket.socket, *args: object) -> None:
        _not_in_the_fast_tier(f"listened on {self.getsockname()}")

    def load_model(*args: object, **kwargs: object) -> None:
        _not_in_the_fast_tier("loaded the embedding model")

    def spawn(*args: object, **kwargs: object) -> None:
        _not_in_the_fast_tier("started a language model worker")

    from shieldrec.llm.client import LlmClient
    from shieldrec.ranking import embedder

    monkeypatch.setattr(socket.socket, "listen", listen)
    monkeypatch.setattr(embedder, "load_model", load_model)
    monkeypatch.setattr(LlmClient, "_spawn", spawn)


@pytest.fixture
def store(shieldrec_home: Path) -> Iterator["Store"]:  # noqa: F821
    from shieldrec.store import Store

    s = Store()
    yield s
    s.close()


@pytest.fixture
def profiles_dir() -> Path:
    return PROFILES_DIR


class MemoryKeyring(KeyringBackend):
    """A real keyring backend that keeps secrets in a dict (this machine has no system keyring)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.secrets:
            raise PasswordDeleteError("not found")
        del self.secrets[(service, username)]


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def catalog() -> "Catalog":  # noqa: F821
    """The demo platform's catalogue, loaded once: every demo server in the session shares it."""
    from shieldrec.platforms.demo_catalog import Catalog

    return Catalog.load(seed=0)


@pytest.fixture
def demo(catalog: "Catalog") -> Iterator["DemoServer"]:  # noqa: F821
    """The real demo platform on 127.0.0.1, on a free port."""
    from shieldrec.platforms.demo_server import DemoServer

    with DemoServer(catalog=catalog) as server:
        yield server


# The budget of one run: the fast tier's edit-test loop (in CI its property tests run 300 examples, not 40),
# and everything: the project keeps it well under 20 minutes (about 13 on 2 cores with `-n 2`, 18 without),
# so a run past 20 fails rather than creeping towards CI's 90.
FAST_TIER_BUDGET_S = 300 if os.environ.get("CI") else 120
SUITE_BUDGET_S = 20 * 60
_started = time.monotonic()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    fast = session.config.getoption("markexpr", "") == "not slow"
    budget = FAST_TIER_BUDGET_S if fast else SUITE_BUDGET_S
    took = time.monotonic() - _started
    if took > budget and session.testscollected > 0 and exitstatus == 0:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"the run took {took:.0f} s, over its budget of {budget} s: make something faster "
                                "(or move it to scripts/) rather than raising the budget", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    """In CI (`CI` set) a skipped test is a failure: CI installs every model and data set, so a skip there
    means something is missing, and a green run must have run every test. A developer's machine skips with
    the reason."""
    from shieldrec.eval.sources import MissingDataset

    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and call.excinfo.errisinstance(MissingDataset):
        # Data that cannot ship (ml-latest-small's terms) lies beside a checkout or where SHIELDREC_DATA says:
        # a clone with nothing beside it skips what needs it, with the one line that says where to get it.
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"needs data: {call.excinfo.value}")
    if report.skipped and os.environ.get("CI") and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"a test was skipped in CI: {report.longrepr}"

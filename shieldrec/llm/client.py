"""The language model as the rest of ShieldRec sees it: a worker process behind a client.

`LlmClient` has the surface the likelihood scorer, the listwise re-ranker, the explainer
and the instruction reader use (tokenize, score continuations, choose an order, complete,
chat), and forwards each call to `python -m shieldrec.llm.worker`, started on the first
call that needs it. Every call has a deadline. When the worker dies (a segfault in
llama.cpp, an abort, the OOM killer, SIGKILL) or misses its deadline, the call raises
`LlmStopped` (an `LlmUnavailable`, which every caller already treats as "rank without the
model"), the status says so once, and the next call after a short back-off starts a
fresh worker (after a short back-off, which that call waits out). After `max_failures`
failures in a row the client gives up and stays off.

The worker's stderr (llama.cpp's load log, a faulthandler stack) goes to a log file in
ShieldRec's logs folder; when the worker dies, its last lines are part of the message.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

import shieldrec
from shieldrec.errors import LlmStopped, LlmUnavailable
from shieldrec.llm import protocol
from shieldrec.llm.models import ModelInfo
from shieldrec.llm.system import Placement
from shieldrec.paths import ensure_dir, get_paths
from shieldrec.sanitize import clean_text

log = logging.getLogger(__name__)

LOG_NAME = "llm-worker.log"
LOG_ROTATE_BYTES = 5 * 1024 * 1024
TAIL_LINES = 5
PER_ITEM_S = 2.0  # added to a call's deadline per candidate, choice or ten tokens asked for
START_S = 120.0  # loading: a few seconds for small models, longer for a large file on a slow disk
BACKOFF_S = (0.5, 30.0)  # first wait before a restart, and the longest one
MAX_FAILURES = 3
# Log lines worth quoting when the worker dies: faulthandler's, and llama.cpp's own errors.
_TELLING = re.compile(r"Fatal Python error|GGML_ASSERT|error:|terminate called", re.IGNORECASE)

_SIGNALS = {
    signal.SIGSEGV: "a crash inside llama.cpp (segmentation fault)",
    signal.SIGABRT: "llama.cpp aborted",
    signal.SIGBUS: "a crash inside llama.cpp (bus error)",
    signal.SIGILL: "an instruction this CPU lacks",
    signal.SIGFPE: "an arithmetic fault inside llama.cpp",
    signal.SIGKILL: "killed: out of memory, or stopped by another program",
    signal.SIGTERM: "terminated by another program",
}


@dataclass(frozen=True)
class LlmStatus:
    """Where the model is, for a status line. `state`: idle (not started yet), starting,
    ready, stopped (a fresh worker starts on the next request), off (failed to load, or
    gave up after failing too often), closed."""

    state: str
    message: str = ""
    failures: int = 0
    log_tail: tuple[str, ...] = ()  # the dead worker's last log lines
    log_path: str = ""

    @property
    def usable(self) -> bool:
        return self.state in ("idle", "starting", "ready", "stopped")


Watcher = Callable[[LlmStatus], None]


class _Dead(Exception):
    """The worker is gone; the message says how."""


class _Silent(Exception):
    """The worker did not answer before the call's deadline."""


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


def _reaped(proc: subprocess.Popen[bytes]) -> int | None:
    """The exit status of a worker whose pipe just closed (None if it lingers)."""
    try:
        return proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        return None


def _how_it_ended(returncode: int | None) -> str:
    if returncode is None:
        return "its process stopped answering"
    if returncode < 0:
        what = _SIGNALS.get(-returncode, "")  # type: ignore[call-overload]
        return f"its process was killed by {_signal_name(-returncode)}" + (f" ({what})" if what else "")
    return f"its process exited with status {returncode}"


class LlmClient:
    """One model in one worker process, started on the first call. Safe to use from any
    thread: calls are answered one at a time, in the order they get the worker."""

    def __init__(self, path: Path, info: ModelInfo, *, n_ctx: int = 2048, device: str = "auto",
                 repack: bool = False, timeout: float = 60.0, per_item: float = PER_ITEM_S,
                 start_timeout: float | None = None, max_failures: int = MAX_FAILURES,
                 backoff: tuple[float, float] = BACKOFF_S) -> None:
        self.path = path
        self.info = info
        self.n_ctx = max(256, int(n_ctx))
        self.device = device or "auto"
        self.repack = bool(repack)
        self.timeout = max(float(timeout), 0.1)
        self.per_item = max(float(per_item), 0.0)
        size_gb = info.size_bytes / 1e9 if info.size_bytes else 0.0
        self.start_timeout = float(start_timeout) if start_timeout else START_S + 60.0 * size_gb
        self.max_failures = max(int(max_failures), 1)
        self.backoff = backoff
        self.stats: Counter[str] = Counter()  # answered calls per request kind, and "starts"
        self._ids = itertools.count(1)
        self._call_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._hello: dict[str, Any] = {}
        self._log: Path | None = None
        self._log_offset = 0
        self._failures = 0
        self._not_before = 0.0
        self._closed = False
        self._status = LlmStatus("idle")
        self._watchers: list[Watcher] = []

    # -- what callers read ----------------------------------------------------------------

    @property
    def status(self) -> LlmStatus:
        return self._status

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def has_chat_template(self) -> bool:
        return self.info.chat_template

    @property
    def template(self) -> str:
        return str(self._started()["template"])

    @property
    def n_vocab(self) -> int:
        return int(self._started()["n_vocab"])

    @property
    def place(self) -> Placement:
        hello = self._started()
        return Placement(int(hello["n_gpu_layers"]), int(hello["threads"]), str(hello["placement"]))

    @property
    def load_params(self) -> dict[str, Any]:
        """The model parameters the worker passed to llama.cpp, as it read them back."""
        return dict(self._started()["load_params"])

    @property
    def log_path(self) -> Path:
        """The log the current (or last) worker writes to; where the next one will, before any."""
        return self._log or get_paths().logs / LOG_NAME

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        """Call `watcher` with every new status (from whatever thread changed it; it must
        not call the client). Returns what stops the watching."""
        self._watchers.append(watcher)
        return lambda: self._watchers.remove(watcher) if watcher in self._watchers else None

    def start(self) -> LlmClient:
        """Start the worker now, if it is not running (blocking). LlmUnavailable if it cannot."""
        with self._call_lock:
            self._ensure_worker()
        return self

    # -- the model's surface (the same as LocalLLM's) -------------------------------------

    def tokenize(self, text: str, *, bos: bool = False) -> list[int]:
        return self.tokenize_many([text], bos=bos)[0]

    def tokenize_many(self, texts: Sequence[str], *, bos: bool = False) -> list[list[int]]:
        if not texts:
            return []
        return [list(t) for t in self._call("tokenize_many", {"texts": list(texts), "bos": bos})]

    def detokenize(self, tokens: Sequence[int]) -> str:
        return str(self._call("detokenize", {"tokens": [int(t) for t in tokens]}))

    def score_continuations(self, prefix: Sequence[int], continuations: Sequence[Sequence[int]],
                            *, together: bool = True) -> list[np.ndarray]:
        answer = self._call("score_continuations", {
            "prefix": [int(t) for t in prefix], "continuations": [[int(t) for t in c] for c in continuations],
            "together": together}, units=len(continuations))
        return [np.asarray(lps, dtype=np.float64) for lps in answer]

    def choose_order(self, prompt: Sequence[int], choices: Sequence[int], between: Sequence[int] = ()) -> list[int]:
        answer = self._call("choose_order", {"prompt": [int(t) for t in prompt], "choices": [int(t) for t in choices],
                                             "between": [int(t) for t in between]}, units=len(choices))
        return [int(i) for i in answer]

    def complete(self, prompt: str, *, grammar: str | None = None, schema: dict[str, Any] | None = None,
                 max_tokens: int = 128, stop: Sequence[str] = ()) -> tuple[str, str]:
        text, finish = self._call("complete", {"prompt": prompt, "grammar": grammar, "schema": schema,
                                               "max_tokens": max_tokens, "stop": list(stop)}, units=max_tokens // 10)
        return str(text), str(finish)

    def chat(self, messages: list[dict[str, str]], *, schema: dict[str, Any] | None = None,
             grammar: str | None = None, max_tokens: int = 256) -> tuple[str, str]:
        if not self.has_chat_template:
            raise LlmUnavailable(f"{self.info.name} has no chat template: it is a base model")
        text, finish = self._call("chat", {"messages": messages, "schema": schema, "grammar": grammar,
                                           "max_tokens": max_tokens}, units=max_tokens // 10)
        return str(text), str(finish)

    def chat_prompt(self, messages: list[dict[str, str]]) -> str:
        if not self.has_chat_template:
            raise LlmUnavailable(f"{self.info.name} has no chat template: it is a base model")
        return str(self._call("chat_prompt", {"messages": messages}))

    def prompt_tokens(self, prompt: str) -> list[int]:
        return [int(t) for t in self._call("prompt_tokens", {"prompt": prompt})]

    def ping(self) -> int:
        return int(self._call("ping", {})["pid"])

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the worker for good; calls from now on raise LlmUnavailable."""
        with self._state_lock:
            self._closed = True
            proc, self._proc = self._proc, None
        if proc is not None:
            self._stop(proc, grace=2.0)
        self._set(LlmStatus("closed", "the language model was turned off"))

    def reset(self) -> None:
        """Forget past failures: a client that gave up may start again (a user's retry)."""
        with self._state_lock:
            self._failures, self._not_before = 0, 0.0
        # A worker that is running stays "ready" with its name: the app reloads the model through
        # here, and an "idle" status would blank the status line's label until the next restart.
        if not self._closed and self.pid is None:
            self._set(LlmStatus("idle"))

    # -- the calls ------------------------------------------------------------------------

    def _started(self) -> dict[str, Any]:
        if not self._hello:
            self.start()
        return self._hello

    def _call(self, op: str, args: dict[str, Any], *, units: int = 0) -> Any:
        budget = self.timeout + self.per_item * max(units, 0)
        if not self._call_lock.acquire(timeout=budget):
            raise LlmUnavailable(f"the language model is busy with another request (waited {budget:.0f} s)")
        try:
            rid = next(self._ids)
            request = protocol.encode({"id": rid, "op": op, "args": args})
            proc = self._ensure_worker()
            deadline = time.monotonic() + budget
            try:
                self._send(proc, request, deadline)
                reply = self._receive(proc, deadline)
                if reply.get("id") != rid:
                    raise _Dead(f"it answered request {reply.get('id')!r} instead of {rid}")
            except _Dead as exc:
                self._failed(proc, str(exc))
            except _Silent:
                self._failed(proc, f"no answer within {budget:.0f} s, so its process was stopped")
            except protocol.ProtocolError as exc:
                self._failed(proc, f"it sent a broken answer ({exc})")
            with self._state_lock:
                self._failures = 0
            self.stats[op] += 1
            if not reply.get("ok"):
                protocol.raise_error(reply.get("error"))
            return reply.get("result")
        finally:
            self._call_lock.release()

    def _ensure_worker(self) -> subprocess.Popen[bytes]:
        """The running worker, started if needed. Called with the call lock held."""
        with self._state_lock:
            if self._closed:
                raise LlmUnavailable("the language model was turned off")
            status = self._status
            proc = self._proc
        if status.state == "off":
            raise LlmUnavailable(status.message)
        if proc is not None:
            if proc.poll() is None:
                return proc
            # It died between requests (the OOM killer does not wait for one): no request
            # was lost, but it counts, and it is said.
            try:
                self._failed(proc, _how_it_ended(proc.returncode))
            except LlmStopped:
                pass
            if self._status.state == "off":
                raise LlmUnavailable(self._status.message)
        wait = self._not_before - time.monotonic()
        if wait > 0:
            # The back-off: a worker that crashes at once must not be restarted in a tight
            # loop. The request waits (a second or two at most before the client gives up)
            # rather than losing the model: only the request that saw the crash goes without.
            time.sleep(wait)
        return self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        if self._closed:
            raise LlmUnavailable("the language model was turned off")
        self._set(LlmStatus("starting", f"starting the language model ({self.info.name})", self._failures))
        log_file = self._open_log()
        command = [sys.executable, "-m", "shieldrec.llm.worker", "--model", str(self.path),
                   "--n-ctx", str(self.n_ctx), "--device", self.device, *(["--repack"] if self.repack else [])]
        env = dict(os.environ)
        # The worker runs this very checkout of ShieldRec, whatever the current directory.
        root = str(Path(shieldrec.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH", "")])])
        try:
            proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log_file,
                                    env=env, close_fds=True)
        except OSError as exc:
            log_file.close()
            self._give_up(f"its process could not start ({exc.strerror or exc})")
        log_file.close()
        assert proc.stdin is not None
        os.set_blocking(proc.stdin.fileno(), False)
        with self._state_lock:
            self._proc = proc
        self.stats["starts"] += 1
        try:
            hello = self._receive(proc, time.monotonic() + self.start_timeout)
        except (_Dead, protocol.ProtocolError) as exc:
            self._failed(proc, f"it failed while loading {self.info.name}: {exc}")
        except _Silent:
            self._failed(proc, f"{self.info.name} did not load within {self.start_timeout:.0f} s")
        if hello.get("protocol") != protocol.VERSION or not hello.get("ok"):
            self._stop(proc)
            with self._state_lock:
                self._proc = None
        if hello.get("protocol") != protocol.VERSION:
            self._give_up(f"its worker speaks protocol {hello.get('protocol')!r}, not {protocol.VERSION}: "
                          "reinstall ShieldRec")
        if not hello.get("ok"):
            error = hello.get("error") or {}
            self._give_up(str(error.get("message") if isinstance(error, dict) else error))
        self._hello = dict(hello.get("result") or {})
        name = self.info.name
        self._set(LlmStatus("ready", f"LLM: {name}" + (" (chat)" if self.has_chat_template else ""), self._failures))
        log.info("language model worker %s ready: %s on %s", proc.pid, name, self._hello.get("placement"))
        return proc

    # -- failures -------------------------------------------------------------------------

    def _failed(self, proc: subprocess.Popen[bytes], reason: str) -> Any:
        """The worker is dead or useless: make sure it is gone, count it, say so, raise."""
        if proc.poll() is None:
            proc.kill()  # SIGKILL also ends a stopped (SIGSTOP) process
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - an unkillable process
            pass
        for pipe in (proc.stdin, proc.stdout):  # each crash would otherwise keep two descriptors open
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        with self._state_lock:
            if self._proc is proc:
                self._proc = None
            self._hello = {}
            closed = self._closed
        if closed:
            raise LlmUnavailable("the language model was turned off")
        tail = self._log_tail()
        if tail and _TELLING.search(tail[0]):
            reason = f"{reason} ({clean_text(tail[0], 200)})"
        self.stats["stops"] += 1
        with self._state_lock:
            self._failures += 1
            failures = self._failures
            low, high = self.backoff
            self._not_before = time.monotonic() + min(low * 2 ** (failures - 1), high)
        if failures >= self.max_failures:
            message = (f"language model stopped: {reason}; it failed {failures} times in a row, so it stays off "
                       "(ranking without it; turn it on again in Settings, or run again)")
            self._set(LlmStatus("off", message, failures, tuple(tail), str(self.log_path)))
        else:
            message = f"language model stopped: {reason}; ranking without it"
            self._set(LlmStatus("stopped", message, failures, tuple(tail), str(self.log_path)))
        log.info("%s (log: %s)", message, self.log_path)  # said by the status and the exception
        raise LlmStopped(message, log_tail=tuple(tail), log_path=str(self.log_path))

    def _give_up(self, reason: str) -> Any:
        """A failure that no restart can mend (the file does not load, the worker is from
        another version): off at once."""
        message = f"language model not loaded: {reason}"
        self._set(LlmStatus("off", message, self._failures))
        raise LlmUnavailable(message)

    def _set(self, status: LlmStatus) -> None:
        self._status = status
        for watcher in list(self._watchers):
            try:
                watcher(status)
            except Exception:  # noqa: BLE001 - a display that fails must not fail the model
                log.exception("language model status watcher failed")

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes], grace: float = 0.0) -> None:
        try:
            if proc.stdin is not None:
                proc.stdin.close()  # a worker waiting for a request sees EOF and exits
        except OSError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()

    # -- the pipe -------------------------------------------------------------------------

    @staticmethod
    def _send(proc: subprocess.Popen[bytes], data: bytes, deadline: float) -> None:
        assert proc.stdin is not None
        fd = proc.stdin.fileno()
        view = memoryview(data)
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Silent()
            _, ready, _ = select.select([], [fd], [], left)
            if not ready:
                continue
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                continue
            except OSError:  # a broken pipe: the worker is gone
                raise _Dead(_how_it_ended(_reaped(proc))) from None

    def _receive(self, proc: subprocess.Popen[bytes], deadline: float) -> dict[str, Any]:
        header = self._read(proc, protocol.HEADER.size, deadline)
        return protocol.decode(self._read(proc, protocol.frame_length(header), deadline))

    def _read(self, proc: subprocess.Popen[bytes], n: int, deadline: float) -> bytes:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        chunks: list[bytes] = []
        got = 0
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Silent()
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, n - got)
            if not chunk:
                raise _Dead(_how_it_ended(_reaped(proc)))
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    # -- the log --------------------------------------------------------------------------

    def _open_log(self) -> IO[bytes]:
        path = self._log = get_paths().logs / LOG_NAME
        ensure_dir(path.parent)
        try:
            if path.stat().st_size > LOG_ROTATE_BYTES:
                os.replace(path, path.with_name(path.name + ".1"))
        except OSError:
            pass
        fh = open(path, "ab")  # noqa: SIM115 - handed to the child, closed here once it has it
        self._log_offset = fh.tell()
        return fh

    def _log_tail(self) -> list[str]:
        """The last lines this worker wrote to the log (other workers may share the file):
        from its last telling line (a fatal error and the stack under it) when it wrote
        one, else its last few lines."""
        try:
            with open(self.log_path, "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                fh.seek(max(self._log_offset, size - 64 * 1024))
                text = fh.read().decode("utf-8", "replace")
        except OSError:
            return []
        lines = [clean_text(line, 300) for line in text.splitlines() if line.strip()]
        telling = [i for i, line in enumerate(lines) if _TELLING.search(line)]
        if telling:
            return lines[telling[-1]:][:TAIL_LINES * 2]
        return lines[-TAIL_LINES:]

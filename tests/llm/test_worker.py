"""The model's own process: nothing it does can take ShieldRec down.

Real worker processes with the real models, killed, crashed and frozen with real
signals: SIGKILL (what the OOM killer sends), SIGSEGV (what llama.cpp's AMX crash is)
and SIGSTOP (a worker that hangs).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shieldrec.errors import LlmStopped, LlmUnavailable
from shieldrec.llm import LikelihoodScorer
from shieldrec.llm.client import LlmClient
from shieldrec.llm.registry import client_for
from shieldrec.llm.models import describe
from shieldrec.ranking import Pipeline
from shieldrec.settings import LlmSettings, Settings

pytestmark = pytest.mark.llm


def _client(path: Path, **kw: object) -> LlmClient:
    kw.setdefault("backoff", (0.05, 0.05))
    return LlmClient(path, describe(path), n_ctx=512, **kw)  # type: ignore[arg-type]


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def test_weight_repacking_is_off_unless_asked_for(bundled_gguf: Path) -> None:
    """What llama.cpp was given, read back from the model parameters it loaded with. On
    a CPU with AMX, repacking on crashes at the first computation, so the default is off."""
    assert LlmSettings().repack_weights is False
    default = client_for(LlmSettings(model=str(bundled_gguf), n_ctx=512)).start()
    assert default.load_params["use_extra_bufts"] is False
    asked = client_for(LlmSettings(model=str(bundled_gguf), n_ctx=512, repack_weights=True)).start()
    try:
        assert asked.load_params["use_extra_bufts"] is True
        assert asked.pid != default.pid
    finally:
        asked.close()
    log = default.log_path.read_text()
    assert "(repack off)" in log and "(repack on)" in log  # llama.cpp's load log is kept there


def test_a_worker_killed_mid_request_costs_that_request_only(bundled_gguf: Path, items, make_request,  # noqa: ANN001
                                                             embedder, when_busy) -> None:
    client = _client(bundled_gguf).start()
    settings = Settings()
    settings.ranking.weights["llm"] = 1.0
    pipe = Pipeline(settings.ranking, embedder, scorers=[LikelihoodScorer(client)])
    cands = list(items.values())
    pipe.rank(make_request(cands[:1]))  # the embedder loaded, the prompt known: the next call is the model's
    seen: list[str] = []
    client.watch(lambda status: seen.append(status.message))
    first = client.pid
    killer = when_busy(first, signal.SIGKILL)
    result = pipe.rank(make_request(cands, "something hopeful and new", request_id="killed"))
    killer.join(timeout=5)
    assert sorted(r.item.item_id for r in result.ranking) == sorted(items)  # nothing lost
    assert all("llm" not in r.components for r in result.ranking)  # ranked without the model
    assert client.status.state == "stopped" and client.stats["stops"] == 1
    assert seen == [client.status.message]  # said once
    assert client.status.message.startswith("language model stopped: its process was killed by SIGKILL")
    assert client.status.message.endswith("; ranking without it")
    assert _gone(first)

    again = pipe.rank(make_request(cands, "something hopeful and new", request_id="again"))
    assert all("llm" in r.components for r in again.ranking)  # a fresh worker, the model back
    assert client.pid not in (None, first) and client.status.state == "ready"
    client.close()


def test_a_hung_worker_is_killed_and_replaced(bundled_gguf: Path) -> None:
    client = _client(bundled_gguf, timeout=1.0, per_item=0.0).start()
    frozen = client.pid
    assert frozen is not None
    os.kill(frozen, signal.SIGSTOP)
    started = time.monotonic()
    with pytest.raises(LlmStopped, match=r"no answer within 1 s, so its process was stopped"):
        client.tokenize("a request the frozen worker never reads")
    assert time.monotonic() - started < 10
    assert _gone(frozen)
    assert client.tokenize("hello") and client.pid not in (None, frozen)
    client.close()


def test_a_retry_while_the_worker_runs_keeps_it_and_its_name(bundled_gguf: Path) -> None:
    client = _client(bundled_gguf).start()
    pid, ready = client.pid, client.status
    assert ready.state == "ready" and ready.message.startswith("LLM: ")
    client.reset()  # what loading the model again in the app does first
    assert client.start().pid == pid  # the same process: nothing restarted
    assert client.status.state == "ready" and client.status.message == ready.message  # the label stays
    client.close()


def test_three_crashes_in_a_row_leave_the_model_off(chat_gguf: Path, when_busy) -> None:  # noqa: ANN001
    client = _client(chat_gguf, max_failures=3)
    long_request = [{"role": "user", "content": "Write a long story about the sea. " * 20}]
    for crash in range(3):
        pid = client.start().pid
        assert pid is not None
        killer = when_busy(pid, signal.SIGSEGV)
        with pytest.raises(LlmStopped) as stopped:
            client.chat(long_request, max_tokens=200)
        killer.join(timeout=5)
        # faulthandler in the worker wrote the crash to its log; its last words are quoted.
        assert "killed by SIGSEGV" in str(stopped.value) and "Fatal Python error" in str(stopped.value)
        assert any("Segmentation fault" in line for line in stopped.value.log_tail)
    assert client.status.state == "off"
    assert "failed 3 times in a row, so it stays off" in client.status.message
    starts = client.stats["starts"]
    with pytest.raises(LlmUnavailable, match="stays off"):
        client.tokenize("anything")
    assert client.stats["starts"] == starts  # no fourth worker
    client.reset()  # a user's explicit retry
    assert client.tokenize("anything")
    client.close()


def test_ranking_goes_on_while_the_model_is_off(chat_gguf: Path, items, make_request, embedder) -> None:  # noqa: ANN001
    client = _client(chat_gguf, max_failures=1).start()
    os.kill(client.pid, signal.SIGKILL)  # type: ignore[arg-type]
    settings = Settings()
    settings.ranking.weights["llm"] = 1.0
    from shieldrec.llm import ListwiseReranker

    pipe = Pipeline(settings.ranking, embedder, scorers=[LikelihoodScorer(client)],
                    reorder=ListwiseReranker(client, top_k=4, passes=1))
    for n in range(3):
        result = pipe.rank(make_request(list(items.values()), request_id=f"off-{n}"))
        assert sorted(r.item.item_id for r in result.ranking) == sorted(items)
        assert all("llm" not in r.components for r in result.ranking)
    assert client.status.state == "off" and client.stats["stops"] == 1 and client.stats["starts"] == 1


def test_the_app_process_never_loads_llama_cpp(bundled_gguf: Path, tmp_path: Path) -> None:
    """Ranking with the model, from a fresh interpreter: llama_cpp is only in the worker."""
    code = (
        "import sys\n"
        "from shieldrec.settings import LlmSettings\n"
        "from shieldrec.llm import get_llm, LikelihoodScorer\n"
        "from shieldrec.items import Item\n"
        "from shieldrec.ranking.types import RankRequest\n"
        f"client = get_llm(LlmSettings(model={str(bundled_gguf)!r}, n_ctx=512))\n"
        "items = [Item(item_id='a', title='Arrival'), Item(item_id='b', title='Taxes')]\n"
        "signals = LikelihoodScorer(client).score(RankRequest(candidates=items, instruction='aliens'), items)\n"
        "print(len(signals), 'llama_cpp' in sys.modules, client.pid != None)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "SHIELDREC_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["2", "False", "True"]
    assert "llama_model_loader" not in done.stderr  # llama.cpp's chatter stayed in the worker's log
    assert "llama_model_loader" in (tmp_path / "cache" / "logs" / "llm-worker.log").read_text()

"""The language model's own process: `python -m shieldrec.llm.worker --model PATH ...`.

llama.cpp is native code that can crash the process holding it (a segfault on some CPUs,
an abort on a malformed file, the kernel's OOM killer). So it lives here, alone: the
app and `rerank` start this process, talk to it over its stdin and stdout with the small
protocol of shieldrec.llm.protocol, and carry on without the model when it dies.

Only this process imports llama_cpp (through shieldrec.llm.runtime). It keeps the
prompt-prefix KV cache and the batched decoding of LocalLLM, so a request costs one
round trip however many candidates it scores.

Standard output is the protocol's: the real fd 1 is kept for frames and fd 1 itself is
pointed at stderr, so nothing llama.cpp prints can corrupt a frame. Stderr is whatever
the parent gave (a log file in ShieldRec's logs folder). `--system` prints what
llama.cpp sees of the machine as one JSON object and exits.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import sys
from pathlib import Path
from typing import Any, BinaryIO

from shieldrec.llm import protocol
from shieldrec.llm.system import cpu_flags


def system_info() -> dict[str, Any]:
    """What llama.cpp reports about this machine and build (imports llama_cpp)."""
    import llama_cpp

    return {
        "llama_cpp_python": getattr(llama_cpp, "__version__", "unknown"),
        "system_info": llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip(),
        "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
        "repack_controllable": "use_extra_bufts" in dict(llama_cpp.llama_model_params._fields_),
    }


def _read_exact(stream: BinaryIO, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _receive(stream: BinaryIO) -> dict[str, Any] | None:
    header = _read_exact(stream, protocol.HEADER.size)
    if header is None:
        return None
    body = _read_exact(stream, protocol.frame_length(header))
    return None if body is None else protocol.decode(body)


class Worker:
    """Answers requests on one loaded model until its input closes."""

    def __init__(self, llm: Any) -> None:
        self.llm = llm

    def hello(self) -> dict[str, Any]:
        llm = self.llm
        return {
            "pid": os.getpid(),
            "n_vocab": llm.n_vocab,
            "n_ctx": llm.n_ctx,
            "template": llm.template,
            "placement": llm.place.label,
            "n_gpu_layers": llm.place.n_gpu_layers,
            "threads": llm.place.threads,
            "load_params": llm.load_params,
        }

    def answer(self, op: str, args: dict[str, Any]) -> Any:
        llm = self.llm
        if op == "ping":
            return {"pid": os.getpid()}
        if op == "tokenize_many":
            return llm.tokenize_many([str(t) for t in args["texts"]], bos=bool(args.get("bos", False)))
        if op == "detokenize":
            return llm.detokenize([int(t) for t in args["tokens"]])
        if op == "score_continuations":
            scored = llm.score_continuations([int(t) for t in args["prefix"]],
                                             [[int(t) for t in c] for c in args["continuations"]],
                                             together=bool(args.get("together", True)))
            return [[float(x) for x in lps] for lps in scored]
        if op == "choose_order":
            return llm.choose_order([int(t) for t in args["prompt"]], [int(t) for t in args["choices"]],
                                    [int(t) for t in args.get("between", [])])
        if op == "complete":
            return list(llm.complete(str(args["prompt"]), grammar=args.get("grammar"), schema=args.get("schema"),
                                     max_tokens=int(args.get("max_tokens", 128)), stop=list(args.get("stop", []))))
        if op == "chat":
            return list(llm.chat(list(args["messages"]), schema=args.get("schema"), grammar=args.get("grammar"),
                                 max_tokens=int(args.get("max_tokens", 256))))
        if op == "chat_prompt":
            return llm.chat_prompt(list(args["messages"]))
        if op == "prompt_tokens":
            return llm.prompt_tokens(str(args["prompt"]))
        raise ValueError(f"unknown request {op!r}")

    def serve(self, inp: BinaryIO, out: BinaryIO) -> None:
        while True:
            request = _receive(inp)
            if request is None:
                return  # the parent closed the pipe (or died): nothing left to do
            rid = request.get("id")
            op = str(request.get("op", ""))
            try:
                if op not in protocol.OPS:
                    raise ValueError(f"unknown request {op!r}")
                response = {"id": rid, "ok": True, "result": self.answer(op, dict(request.get("args") or {}))}
            except Exception as exc:  # noqa: BLE001 - reported to the caller; the worker stays up
                response = {"id": rid, "ok": False, "error": protocol.error_payload(exc)}
            out.write(protocol.encode(response))
            out.flush()


def _protocol_stdout() -> BinaryIO:
    """The real stdout for frames; fd 1 from now on goes where stderr goes."""
    frames = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shieldrec.llm.worker")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--repack", action="store_true", help="let llama.cpp repack weights (extra buffer types)")
    parser.add_argument("--system", action="store_true", help="print llama.cpp's view of this machine as JSON")
    args = parser.parse_args(argv)
    if args.system:
        print(json.dumps({**system_info(), "cpu_flags": cpu_flags()}))
        return 0
    if args.model is None:
        parser.error("--model is required")
    faulthandler.enable()  # a segfault leaves the Python stack in the log the parent reads
    out = _protocol_stdout()
    print(f"shieldrec llm worker {os.getpid()}: loading {args.model} (repack {'on' if args.repack else 'off'})",
          file=sys.stderr, flush=True)
    try:
        from shieldrec.llm.models import describe
        from shieldrec.llm.runtime import LocalLLM

        llm = LocalLLM(args.model, describe(args.model), n_ctx=args.n_ctx, device=args.device,
                       repack=args.repack, verbose=True)
    except Exception as exc:  # noqa: BLE001 - the parent is told why, and stops asking
        out.write(protocol.encode({"protocol": protocol.VERSION, "ok": False, "error": protocol.error_payload(exc)}))
        return 1
    worker = Worker(llm)
    out.write(protocol.encode({"protocol": protocol.VERSION, "ok": True, "result": worker.hello()}))
    worker.serve(sys.stdin.buffer, out)
    llm.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A small reader for the metadata at the head of a GGUF file.

`models list|info` and `models use` must describe and vet a file without handing it to
llama.cpp (loading takes time and memory, and a bad file should be refused with a
sentence, not a native error). Only the key/value header is read; tensor data is not.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from shieldrec.errors import ModelError

MAGIC = b"GGUF"
_MAX_KEYS = 100_000
_MAX_STRING = 64 * 1024 * 1024  # chat templates are kilobytes; anything near this is corruption
_MAX_ARRAY = 10_000_000  # vocabularies hold a few hundred thousand entries
_KEEP_ARRAY = 16  # arrays (token lists) are skipped; only short ones are kept

# GGUF value types -> struct format (fixed-size scalars).
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9

# llama.cpp's `general.file_type` (enum llama_ftype) -> the quantization name people use.
FILE_TYPES = {
    0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
    12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
    19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
    26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
    36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4",
}


# ggml tensor type -> (elements per block, bytes per block), to find where the data must end.
_TYPE_SIZES = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 36),
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
    16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18), 21: (256, 110), 22: (256, 82),
    23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 29: (256, 56), 30: (1, 2),
    34: (256, 54), 35: (256, 66), 39: (32, 17),
}
_MAX_TENSORS = 1_000_000
_MAX_DIMS = 8


class NotGguf(ModelError):
    """The file is missing, unreadable, or not a (whole) GGUF model."""


@dataclass
class GgufHeader:
    version: int
    tensor_count: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", ""))

    @property
    def name(self) -> str:
        return str(self.metadata.get("general.name", ""))

    @property
    def quantization(self) -> str:
        ftype = self.metadata.get("general.file_type")
        if isinstance(ftype, int):
            return FILE_TYPES.get(ftype, f"type {ftype}")
        return "unknown"

    @property
    def context_length(self) -> int | None:
        value = self.metadata.get(f"{self.architecture}.context_length")
        return int(value) if isinstance(value, int) else None

    @property
    def chat_template(self) -> str:
        value = self.metadata.get("tokenizer.chat_template")
        return value if isinstance(value, str) else ""


class _Reader:
    def __init__(self, fh: BinaryIO, path: Path) -> None:
        self.fh = fh
        self.path = path

    def exact(self, n: int) -> bytes:
        data = self.fh.read(n)
        if len(data) != n:
            raise NotGguf(f"{self.path} ends inside its header: the file is truncated")
        return data

    def unpack(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.exact(struct.calcsize(fmt)))[0]

    def string(self, keep: bool = True) -> str:
        n = self.unpack("<Q")
        if n > _MAX_STRING:
            raise NotGguf(f"{self.path} has a corrupt header (a {n}-byte string)")
        if not keep:
            self.fh.seek(n, 1)
            return ""
        return self.exact(n).decode("utf-8", errors="replace")

    def value(self, kind: int, keep: bool = True) -> Any:
        if kind in _SCALARS:
            return self.unpack(_SCALARS[kind])
        if kind == _STRING:
            return self.string(keep)
        if kind == _ARRAY:
            inner = self.unpack("<I")
            n = self.unpack("<Q")
            if n > _MAX_ARRAY or inner == _ARRAY and n > _KEEP_ARRAY:
                raise NotGguf(f"{self.path} has a corrupt header (an array of {n} entries)")
            if inner in _SCALARS and n > _KEEP_ARRAY:
                self.fh.seek(struct.calcsize(_SCALARS[inner]) * n, 1)  # skipped, not parsed
                return None
            if inner not in _SCALARS and inner not in (_STRING, _ARRAY):
                raise NotGguf(f"{self.path} has a corrupt header (unknown value type {inner})")
            items = [self.value(inner, keep and n <= _KEEP_ARRAY) for _ in range(n)]
            return items if n <= _KEEP_ARRAY else None
        raise NotGguf(f"{self.path} has a corrupt header (unknown value type {kind})")


def _data_end(reader: _Reader, tensors: int, metadata: dict[str, Any]) -> int:
    """The file size the tensor table implies (the end of its furthest tensor)."""
    if tensors > _MAX_TENSORS:
        raise NotGguf(f"{reader.path} has a corrupt header ({tensors} tensors)")
    furthest = 0
    for _ in range(tensors):
        reader.string(keep=False)
        n_dims = reader.unpack("<I")
        if n_dims > _MAX_DIMS:
            raise NotGguf(f"{reader.path} has a corrupt tensor table ({n_dims} dimensions)")
        count = 1
        for _ in range(n_dims):
            count *= reader.unpack("<Q")
        kind = reader.unpack("<I")
        offset = reader.unpack("<Q")
        block, nbytes = _TYPE_SIZES.get(kind, (1, 0))  # an unknown type: only its offset is checked
        furthest = max(furthest, offset + -(-count // block) * nbytes)
    alignment = metadata.get("general.alignment", 32)
    alignment = alignment if isinstance(alignment, int) and alignment > 0 else 32
    start = -(-reader.fh.tell() // alignment) * alignment
    return start + furthest


def read_header(path: Path) -> GgufHeader:
    """The metadata of the GGUF file at `path`; `NotGguf` with a plain reason otherwise."""
    path = Path(path)
    if not path.exists():
        raise NotGguf(f"model file {path} does not exist")
    if not path.is_file():
        raise NotGguf(f"{path} is not a file")
    try:
        with path.open("rb") as fh:
            reader = _Reader(fh, path)
            head = fh.read(4)
            if head != MAGIC:
                raise NotGguf(f"{path} is not a GGUF model file (it does not start with the GGUF signature)")
            version = reader.unpack("<I")
            if version not in (2, 3):
                raise NotGguf(f"{path} is GGUF version {version}; llama.cpp reads versions 2 and 3")
            tensors = reader.unpack("<Q")
            n_keys = reader.unpack("<Q")
            if n_keys > _MAX_KEYS:
                raise NotGguf(f"{path} has a corrupt header ({n_keys} metadata keys)")
            metadata: dict[str, Any] = {}
            for _ in range(n_keys):
                key = reader.string()
                kind = reader.unpack("<I")
                metadata[key] = reader.value(kind)
            size = path.stat().st_size
            if fh.tell() > size:
                raise NotGguf(f"{path} ends inside its header: the file is truncated")
            needed = _data_end(reader, tensors, metadata)
            if needed > size:
                raise NotGguf(
                    f"{path} is truncated: its tensors need {needed:,} bytes but the file has {size:,} "
                    "(an interrupted download or copy?)"
                )
    except OSError as exc:
        raise NotGguf(f"model file {path} cannot be read: {exc.strerror or exc}") from exc
    return GgufHeader(version=version, tensor_count=tensors, metadata=metadata)

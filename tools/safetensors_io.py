"""Write and strictly read safetensors files without the safetensors package.

Layout as the reference writer: 8-byte little-endian header length, compact JSON header with
__metadata__ first and tensors sorted by name, padded with spaces to a multiple of 8, then the
tensors back to back in that order. Everything ITS Lab ships is F32 (F64 for statistics).
"""
import json
import struct

import numpy as np

_DTYPES = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64"}


def save(path, tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name in sorted(tensors):
        if name == "__metadata__":
            raise ValueError("__metadata__ is reserved")
        a = np.ascontiguousarray(tensors[name])
        if a.dtype not in _DTYPES:
            a = a.astype("<f4")
        a = a.astype(a.dtype.newbyteorder("<"), copy=False)
        b = a.tobytes()
        header[name] = {"dtype": _DTYPES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def load(path):
    """Returns (tensors, metadata); raises ValueError on any layout problem."""
    data = open(path, "rb").read()
    if len(data) < 8:
        raise ValueError("file too short")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data) or data[8:9] != b"{":
        raise ValueError("bad header length")
    header = json.loads(data[8:8 + n].decode())
    meta = header.pop("__metadata__", {})
    buf = data[8 + n:]
    out, end = {}, 0
    for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        b, t = e["data_offsets"]
        if b != end:
            raise ValueError(f"tensor {name}: gap or overlap")
        dt = {"F32": "<f4", "F64": "<f8"}[e["dtype"]]
        a = np.frombuffer(buf[b:t], dtype=dt).reshape(e["shape"])
        out[name] = a
        end = t
    if end != len(buf):
        raise ValueError("buffer not fully covered")
    return out, meta

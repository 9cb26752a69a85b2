"""Fashion-MNIST from the Debian package dataset-fashion-mnist (gzip IDX files)."""
import gzip
import os

import numpy as np

ROOT = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")


def _idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(split):
    """Images as float32 [N,1,28,28] in [-1,1] and labels int64 [N]; split 'train' or 't10k'."""
    x = _idx(os.path.join(ROOT, f"{split}-images-idx3-ubyte.gz"))
    y = _idx(os.path.join(ROOT, f"{split}-labels-idx1-ubyte.gz"))
    return (x.astype(np.float32) / 127.5 - 1.0)[:, None], y.astype(np.int64)

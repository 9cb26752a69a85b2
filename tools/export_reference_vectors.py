"""Input/output vectors of every bundled model, computed by PyTorch, for the parity tests.

  /usr/bin/python3 tools/export_reference_vectors.py

Writes tests/data/models/<model>/{x,t,y,out[,features]}.npy: images flattened to rows (C order),
t and y as [n, 1] columns. The models are loaded from resources/models/ (so the vectors test the
shipped files), inputs come from a fixed seed and cover t across [0, 1].
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itslab_models  # noqa: E402
import safetensors_io  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(folder):
    cfg = json.load(open(os.path.join(folder, "config.json")))
    tensors, _ = safetensors_io.load(os.path.join(folder, "model.safetensors"))
    net = {"mlp": itslab_models.ToyMLP, "unet": itslab_models.UNet,
           "classifier": itslab_models.Classifier}[cfg["architecture"]]()
    if cfg["architecture"] == "classifier":
        # the file holds BatchNorm folded into the convolutions: identity BatchNorm reproduces it
        for bn in (net.bn1, net.bn2, net.bn3):
            bn.eps = 0.0
        tensors = {k: v for k, v in tensors.items() if not k.startswith("fd.")}
    state = net.state_dict()
    for k, v in tensors.items():
        state[k] = torch.from_numpy(np.array(v, dtype=np.float32))
    net.load_state_dict(state)
    return cfg, net.eval()


def save(out, name, a):
    a = np.asarray(a, dtype=np.float32)
    np.save(os.path.join(out, name), a.reshape(a.shape[0], -1))


def main():
    torch.manual_seed(0)
    models = os.path.join(ROOT, "resources", "models")
    for name in sorted(os.listdir(models)):
        cfg, net = load(os.path.join(models, name))
        out = os.path.join(ROOT, "tests", "data", "models", name)
        os.makedirs(out, exist_ok=True)
        with torch.no_grad():
            if cfg["architecture"] == "mlp":
                n = 64
                t = torch.linspace(0, 1, n)
                x = 2 * torch.randn(n, 2)
                save(out, "x.npy", x), save(out, "t.npy", t[:, None])
                save(out, "out.npy", net(x, t))
            elif cfg["architecture"] == "unet":
                n = 4
                t = torch.tensor([0.05, 0.3, 0.7, 1.0])
                y = torch.tensor([0, 3, 9, 10])
                x = torch.randn(n, 1, 28, 28)
                save(out, "x.npy", x), save(out, "t.npy", t[:, None]), save(out, "y.npy", y[:, None])
                save(out, "out.npy", net(x, t, y))
            else:
                n = 8
                x = torch.rand(n, 1, 28, 28) * 2 - 1
                save(out, "x.npy", x)
                save(out, "out.npy", net(x))
                save(out, "features.npy", net.features(x))
        print(f"{name}: vectors written")


if __name__ == "__main__":
    main()

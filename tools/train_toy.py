"""Train and export the 2-D ToyMLP demo models (resources/models/<data>-<objective>/).

  /usr/bin/python3 tools/train_toy.py --data two-moons --objective flow
  /usr/bin/python3 tools/train_toy.py --all

Training data are exact samples of ITS Lab's own built-in mixture (`itslab-cli data`), so the
learned denoiser can be compared with the closed-form one. Recipe (research notes, toy models):
batch 1024, 10 000 Adam steps, lr 1e-3 with 100-step warm-up and cosine decay, gradient clip 1,
t ~ U(1e-3, 1); flow: x_t = (1-t) x0 + t eps, target eps - x0; vp: VP-SDE (beta 0.1..20), target eps.
"""
import argparse
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import itslab_models  # noqa: E402
from train_fmnist import ROOT, log_to, write_model  # noqa: E402

DATASETS = ["two-moons", "checkerboard", "swiss-roll", "pinwheel"]


def vp_alpha_sigma(t, beta_min=0.1, beta_max=20.0):
    log_alpha = -0.25 * t ** 2 * (beta_max - beta_min) - 0.5 * t * beta_min
    alpha = torch.exp(log_alpha)
    return alpha, torch.sqrt(-torch.expm1(2 * log_alpha))


def exact_samples(data, n, cli):
    path = os.path.join(ROOT, "build", f"train-{data}.npy")
    subprocess.run([cli, "data", "--model", f"gmm/{data}", "--n", str(n), "--seed", "1",
                    "--out", path], check=True, stdout=subprocess.DEVNULL)
    return np.load(path)


def train(data, objective, args):
    name = f"{data}-{objective}"
    log = log_to(name)
    torch.manual_seed(args.seed)
    x = torch.from_numpy(exact_samples(data, 1 << 20, args.cli))
    net = itslab_models.ToyMLP()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(args.seed)
    running, t0 = None, time.time()
    for step in range(1, args.steps + 1):
        warm = min(1.0, step / 100)
        for group in opt.param_groups:
            group["lr"] = 1e-3 * warm * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        x0 = x[torch.randint(0, len(x), (args.batch,), generator=g)]
        t = 1e-3 + (1 - 1e-3) * torch.rand(args.batch, generator=g)
        eps = torch.randn(x0.shape, generator=g)
        if objective == "flow":
            xt = (1 - t)[:, None] * x0 + t[:, None] * eps
            target = eps - x0
        else:
            alpha, sigma = vp_alpha_sigma(t)
            xt = alpha[:, None] * x0 + sigma[:, None] * eps
            target = eps
        loss = ((net(xt, t) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 500 == 0:
            log(f"step {step}: loss {running:.5f} ({time.time() - t0:.0f} s)")
    process = ({"type": "flow_linear"} if objective == "flow" else
               {"type": "vp_linear", "beta_min": 0.1, "beta_max": 20.0})
    config = {
        "format": "itslab.model/1",
        "name": f"{data.replace('-', ' ').capitalize()}, ToyMLP ({'flow matching' if objective == 'flow' else 'VP, eps'})",
        "architecture": "mlp",
        "mlp": {"width": 128, "blocks": 3, "activation": "silu", "norm": "layernorm",
                "layer_norm_eps": 1e-5},
        "data_shape": [2],
        "process": process,
        "prediction": "velocity" if objective == "flow" else "eps",
        "time_embedding": {"kind": "sinusoidal", "order": "cos_sin", "dim": 64, "scale": 1000,
                           "frequencies": "temb.freqs"},
        "num_classes": 0,
        "normalization": {"note": "none: the network sees data coordinates"},
        "trained_on": f"gmm/{data}",
        "training": {"seed": args.seed, "steps": args.steps, "batch": args.batch,
                     "final_loss": round(running, 5), "log": f"tools/logs/{name}.log"},
    }
    tensors = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    write_model(name, config, tensors, {"architecture": "mlp", "prediction": config["prediction"],
                                        "trained_on": f"gmm/{data}"})
    log(f"exported {name}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", choices=DATASETS)
    ap.add_argument("--objective", choices=["flow", "vp"])
    ap.add_argument("--all", action="store_true", help="every data set with both objectives")
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cli", default=os.path.join(ROOT, "build", "app", "itslab-cli"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    jobs = ([(d, o) for d in DATASETS for o in ("flow", "vp")] if args.all
            else [(args.data, args.objective)])
    if None in jobs[0]:
        ap.error("give --data and --objective, or --all")
    for d, o in jobs:
        train(d, o, args)


if __name__ == "__main__":
    main()

"""Train and export the Fashion-MNIST models ITS Lab ships (resources/models/).

  /usr/bin/python3 tools/train_fmnist.py classifier   # FMNIST-Clf + Fréchet statistics of the test set
  /usr/bin/python3 tools/train_fmnist.py unet         # FMNIST-UNet-S, class-conditional flow matching

Fixed seeds; the log goes to tools/logs/<model>.log. The U-Net exports its EMA weights every
--export-every steps so an interrupted run still leaves a usable model.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist_data  # noqa: E402
import itslab_models  # noqa: E402
import safetensors_io  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]
NORMALIZATION = {"pixel_scale": 1 / 127.5, "pixel_offset": -1.0,
                 "note": "x = pixel / 127.5 - 1, pixels 0..255"}


def log_to(name):
    os.makedirs(os.path.join(ROOT, "tools", "logs"), exist_ok=True)
    f = open(os.path.join(ROOT, "tools", "logs", f"{name}.log"), "w")

    def log(msg):
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        f.write(line + "\n")
        f.flush()
    return log


def write_model(folder, config, tensors, metadata):
    out = os.path.join(ROOT, "resources", "models", folder)
    os.makedirs(out, exist_ok=True)
    safetensors_io.save(os.path.join(out, "model.safetensors.tmp"), tensors, metadata)
    back, _ = safetensors_io.load(os.path.join(out, "model.safetensors.tmp"))
    for k, v in tensors.items():
        assert np.array_equal(back[k], np.asarray(v, dtype=back[k].dtype)), k
    os.replace(os.path.join(out, "model.safetensors.tmp"), os.path.join(out, "model.safetensors"))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


def train_classifier(args):
    log = log_to("fmnist-classifier")
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    x, y = fmnist_data.load("train")
    xt, yt = fmnist_data.load("t10k")
    x, y, xt, yt = map(torch.from_numpy, (x, y, xt, yt))
    net = itslab_models.Classifier()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    steps_per_epoch = len(x) // 128
    total = args.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / total)))
    g = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        net.train()
        perm = torch.randperm(len(x), generator=g)
        for i in range(steps_per_epoch):
            idx = perm[i * 128:(i + 1) * 128]
            xb = x[idx]
            flip = torch.rand(len(idx), generator=g) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            loss = F.cross_entropy(net(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        net.eval()
        with torch.no_grad():
            logits = torch.cat([net(xt[i:i + 1000]) for i in range(0, len(xt), 1000)])
        acc = (logits.argmax(1) == yt).float().mean().item()
        logp = torch.log_softmax(logits, 1)[torch.arange(len(yt)), yt].mean().item()
        log(f"epoch {epoch + 1}: test accuracy {acc:.4f}, mean log p(y|x) {logp:.4f}")
    with torch.no_grad():
        feats = torch.cat([net.features(xt[i:i + 1000]) for i in range(0, len(xt), 1000)]).double()
    mu = feats.mean(0).numpy()
    sigma = np.cov(feats.numpy(), rowvar=False)  # divisor N-1, as pytorch-fid
    tensors = net.folded_state()
    tensors["fd.test.mu"] = mu
    tensors["fd.test.sigma"] = sigma
    config = {
        "format": "itslab.model/1",
        "name": "Fashion-MNIST classifier (FMNIST-Clf)",
        "architecture": "classifier",
        "data_shape": [1, 28, 28],
        "num_classes": 10,
        "class_names": CLASSES,
        "normalization": NORMALIZATION,
        "features": {"layer": "fc1_relu", "dim": 128,
                     "reference": {"mu": "fd.test.mu", "sigma": "fd.test.sigma", "n": 10000,
                                   "cov_divisor": "N-1", "set": "Fashion-MNIST test"}},
        "training": {"seed": args.seed, "epochs": args.epochs, "test_accuracy": round(acc, 4),
                     "test_mean_log_prob": round(logp, 4), "log": "tools/logs/fmnist-classifier.log"},
    }
    write_model("fmnist-classifier", config, tensors,
                {"architecture": "classifier", "batchnorm": "folded into c1..c3",
                 "fd_n": "10000", "fd_features": "fc1_relu", "fd_cov_divisor": "N-1",
                 "pixel_range": "[-1,1]"})
    log(f"exported; {sum(v.size for v in tensors.values())} numbers")


def unet_config(args, step, loss):
    return {
        "format": "itslab.model/1",
        "name": "Fashion-MNIST U-Net (class-conditional, flow matching)",
        "architecture": "unet",
        "unet": {"channels": [32, 64, 128], "groups": 8, "embedding": 128,
                 "attention_heads": 4, "group_norm_eps": 1e-5},
        "data_shape": [1, 28, 28],
        "process": {"type": "flow_linear"},
        "prediction": "velocity",
        "time_embedding": {"kind": "sinusoidal", "order": "cos_sin", "dim": 32, "scale": 1000,
                           "frequencies": "temb.freqs"},
        "num_classes": 10,
        "null_class": 10,
        "class_names": CLASSES,
        "normalization": NORMALIZATION,
        "training": {"seed": args.seed, "steps": step, "batch": args.batch, "label_dropout": 0.1,
                     "ema": "min(0.999, (1+n)/(10+n))", "final_loss": round(loss, 4),
                     "log": "tools/logs/fmnist-unet.log"},
    }


def train_unet(args):
    log = log_to("fmnist-unet")
    torch.manual_seed(args.seed)
    x, y = fmnist_data.load("train")
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    net = itslab_models.UNet()
    ema = itslab_models.UNet()
    ema.load_state_dict(net.state_dict())
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(args.seed)
    running = None
    t0 = time.time()
    for step in range(1, args.steps + 1):
        for group in opt.param_groups:
            group["lr"] = 1e-3 * min(1.0, step / 200)
        idx = torch.randint(0, len(x), (args.batch,), generator=g)
        x0, yb = x[idx], y[idx].clone()
        yb[torch.rand(args.batch, generator=g) < 0.1] = 10
        t = torch.rand(args.batch, generator=g)
        eps = torch.randn(x0.shape, generator=g)
        xt = (1 - t)[:, None, None, None] * x0 + t[:, None, None, None] * eps
        loss = ((net(xt, t, yb) - (eps - x0)) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        decay = min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, p in zip(ema.state_dict().values(), net.state_dict().values()):
                pe.mul_(decay).add_(p, alpha=1 - decay) if pe.is_floating_point() else pe.copy_(p)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 100 == 0:
            log(f"step {step}: loss {running:.4f} ({time.time() - t0:.0f} s)")
        if step % args.export_every == 0 or step == args.steps:
            tensors = {k: v.detach().numpy() for k, v in ema.state_dict().items()}
            write_model("fmnist-unet", unet_config(args, step, running), tensors,
                        {"architecture": "unet", "prediction": "velocity",
                         "time_convention": "x_t=(1-t)x0+t*eps", "pixel_range": "[-1,1]",
                         "null_class": "10"})
            log(f"exported EMA weights at step {step}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("model", choices=["classifier", "unet"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--export-every", type=int, default=250)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    (train_classifier if args.model == "classifier" else train_unet)(args)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Same-run comparison of ITS Lab's CPU backend with a PyTorch CPU loop of the same job.

--mode gmm (default): the default preset (eight Gaussians, EDM, 20 Karras steps,
DPM-Solver++(2M), 4096 particles): the same model (the exact mixture posterior mean), the same
noise (written once and passed to itslab-cli with --init), the same grid and solver. Prints both
wall times, their ratio and the largest difference of the final samples.

--mode mlp: the bundled two-moons-flow ToyMLP (tools/itslab_models.py, weights from
resources/models) sampled with 20 Euler steps of the flow ODE, x <- x + (t' - t) v(x, t), from
t = 1, for each --particles count; ITS Lab runs the same loop (`itslab-cli bench --neural`).
--unet adds the Fashion-MNIST U-Net, batch 64, class 3, 20 Euler steps. Both sides use the
same number of threads. Prints both wall times and the ratio.

Needs Debian's python3-torch; never needed to build or test ITS Lab.

    tools/bench_torch.py [--cli build/app/itslab-cli] [--particles 4096] [--repeat 10]
    tools/bench_torch.py --mode mlp [--particles 4096 65536] [--unet] [--threads 2]
"""
import argparse
import json
import math
import os
import subprocess
import tempfile
import time

import sys

# OpenBLAS (Debian's torch BLAS) starts its own threads when torch loads it: give it the same
# count as torch.set_num_threads, or the two pools oversubscribe the cores. Idle OpenMP threads
# sleep instead of spinning (both sides, the CLI inherits it), which on a shared machine is the
# difference between seconds and tens of seconds for PyTorch.
for _i, _arg in enumerate(sys.argv):
    if _arg == "--threads" and _i + 1 < len(sys.argv):
        os.environ.setdefault("OPENBLAS_NUM_THREADS", sys.argv[_i + 1])
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import numpy as np  # noqa: E402
import torch  # noqa: E402


def karras(smin, smax, steps, rho):
    ramp = np.linspace(0, 1, steps)
    a, b = smax ** (1 / rho), smin ** (1 / rho)
    return np.append((a + ramp * (b - a)) ** rho, 0.0)


def gmm_denoise(x, sigma, mu, var, logw):
    # posterior mean of an isotropic mixture under x = x0 + sigma*eps (gaussian-mixtures note §1.2)
    v = var + sigma * sigma                                  # [K]
    d2 = ((x[:, None, :] - mu[None, :, :]) ** 2).sum(-1)     # [n, K]
    logits = logw - 0.5 * x.shape[1] * torch.log(v) - 0.5 * d2 / v
    r = torch.softmax(logits, dim=1)                         # responsibilities
    m = (sigma * sigma * mu[None] + var[None, :, None] * x[:, None, :]) / v[None, :, None]
    return (r[:, :, None] * m).sum(1)


def dpmpp_2m(z, sigmas, mu, var, logw):
    # k-diffusion sample_dpmpp_2m (VE form)
    x = z * sigmas[0]
    old = None
    for i in range(len(sigmas) - 1):
        s, s1 = sigmas[i], sigmas[i + 1]
        D = gmm_denoise(x, s, mu, var, logw)
        if s1 == 0:
            x = D
        else:
            h = math.log(s / s1)
            if old is None:
                x = (s1 / s) * x - math.expm1(-h) * D
            else:
                r = math.log(sigmas[i - 1] / s) / h
                Dd = (1 + 1 / (2 * r)) * D - (1 / (2 * r)) * old
                x = (s1 / s) * x - math.expm1(-h) * Dd
        old = D
    return x


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_bundled(name):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import itslab_models
    import safetensors_io
    folder = os.path.join(ROOT, "resources", "models", name)
    cfg = json.load(open(os.path.join(folder, "config.json")))
    tensors, _ = safetensors_io.load(os.path.join(folder, "model.safetensors"))
    net = {"mlp": itslab_models.ToyMLP, "unet": itslab_models.UNet}[cfg["architecture"]]()
    net.load_state_dict({k: torch.from_numpy(np.array(v, dtype=np.float32))
                         for k, v in tensors.items()})
    return net.eval()


def euler_flow(net, x, steps, cls=None):
    # the flow ODE from t = 1 to 0: x <- x + (t' - t) v(x, t), one network call per step
    n = x.shape[0]
    y = None if cls is None else torch.full((n,), cls, dtype=torch.long)
    for i in range(steps):
        t = 1.0 - i / steps
        tt = torch.full((n,), t)
        v = net(x, tt) if y is None else net(x, tt, y)
        x = x - (1.0 / steps) * v
    return x


def time_torch(f, repeat):
    ms = []
    with torch.no_grad():
        for _ in range(repeat + 1):
            t0 = time.perf_counter()
            f()
            ms.append(1000 * (time.perf_counter() - t0))
    return float(np.median(ms[1:]))


def mode_mlp(a):
    particles = a.particles or [4096, 65536]
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    mlp = load_bundled("two-moons-flow")
    gen = torch.Generator().manual_seed(7)
    print(f"ToyMLP two-moons-flow, 20 Euler steps, {a.threads} threads, PyTorch "
          f"{torch.__version__}; median of {a.repeat}")
    print(f"{'workload':<34} {'particles':>9} {'PyTorch ms':>11} {'ITS Lab ms':>11} "
          f"{'ratio':>7}")
    rows = [("two-moons-flow MLP", "two-moons-flow", n) for n in particles]
    if a.unet:
        rows.append(("fmnist-unet class 3", "fmnist-unet", 64))
    for label, model, n in rows:
        if model == "fmnist-unet":
            net, cls = load_bundled("fmnist-unet"), 3
            x = torch.randn(n, 1, 28, 28, generator=gen)
        else:
            net, cls = mlp, None
            x = torch.randn(n, 2, generator=gen)
        reps = max(1, a.repeat // 5) if model == "fmnist-unet" else a.repeat
        tor = time_torch(lambda: euler_flow(net, x, 20, cls), reps)
        with tempfile.TemporaryDirectory() as tmp:
            rpath = os.path.join(tmp, "r.json")
            cmd = [a.cli, "bench", "--neural", "--repeat", str(4 * reps), "--report", rpath,
                   "--particles", str(n if model != "fmnist-unet" else 1)]
            if model != "fmnist-unet":
                cmd.append("--quick")
            subprocess.check_call(cmd, stdout=subprocess.DEVNULL, env=env)
            report = json.load(open(rpath))
        its = [r for r in report if r["model"] == model and r["particles"] == n][0]["median_ms"]
        print(f"{label:<34} {n:>9} {tor:>11.1f} {its:>11.1f} {tor / its:>6.2f}x")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default="build/app/itslab-cli")
    ap.add_argument("--mode", choices=["gmm", "mlp"], default="gmm")
    ap.add_argument("--particles", type=int, nargs="*")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--unet", action="store_true", help="--mode mlp: also the U-Net")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.mode == "mlp":
        mode_mlp(a)
        return
    a.particles = a.particles[0] if a.particles else 4096

    preset = json.loads(subprocess.check_output([a.cli, "export-preset", "default"]))
    proc, sched = preset["process"], preset["schedule"]
    sigmas = karras(proc["sigma_min"], proc["sigma_max"], sched["steps"], sched["rho"])
    # eight Gaussians exactly as the built-in (radius 4/1.414, std 0.5/1.414)
    ang = np.arange(8) * math.pi / 4
    mu = torch.tensor(np.stack([np.cos(ang), np.sin(ang)], 1) * (4 / 1.414), dtype=torch.float64)
    var = torch.full((8,), (0.5 / 1.414) ** 2, dtype=torch.float64)
    logw = torch.full((8,), math.log(1 / 8), dtype=torch.float64)

    rng = np.random.default_rng(7)
    z = rng.standard_normal((a.particles, 2)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        zpath, xpath, rpath = (os.path.join(tmp, f) for f in ("z.npy", "x.npy", "r.json"))
        np.save(zpath, z)
        subprocess.check_call([a.cli, "sample", "--preset", "default", "--init", zpath,
                               "--out", xpath, "--report", rpath, "--repeat", str(a.repeat)],
                              stdout=subprocess.DEVNULL,
                              env=dict(os.environ, OMP_NUM_THREADS=str(a.threads)))
        with open(rpath) as f:
            report = json.load(f)
        ours = np.load(xpath)

    zt = torch.tensor(z, dtype=torch.float32)
    mu32, var32, logw32 = mu.float(), var.float(), logw.float()
    torch_ms = []
    for _ in range(a.repeat + 1):
        t0 = time.perf_counter()
        ref = dpmpp_2m(zt, sigmas, mu32, var32, logw32)
        torch_ms.append(1000 * (time.perf_counter() - t0))
    its, cold, tor = report["wall_ms_warm_median"], report["wall_ms"], np.median(torch_ms[1:])
    diff = float(np.abs(ref.numpy() - ours).max())
    print(f"workload: default preset, {a.particles} particles, 20 Karras steps, dpmpp_2m, "
          f"{a.threads} threads")
    print(f"PyTorch {torch.__version__} CPU: {tor:.2f} ms (median of {a.repeat})")
    print(f"ITS Lab cpu:          {its:.2f} ms (median of {a.repeat} warm runs; first run of "
          f"the process {cold:.2f} ms)")
    print(f"ratio PyTorch / ITS Lab: {tor / its:.1f}x; max |difference| of samples {diff:.2e}")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Same-run comparison of ITS Lab's CPU backend with a PyTorch CPU loop of the same job.

The workload is the default preset (eight Gaussians, EDM, 20 Karras steps, DPM-Solver++(2M),
4096 particles) or any 2-D mixture preset given with --preset: the same model (the exact
mixture posterior mean), the same noise (written once and passed to itslab-cli with --init),
the same grid and solver. Prints both wall times, their ratio and the largest difference of
the final samples. Needs Debian's python3-torch; never needed to build or test ITS Lab.

    tools/bench_torch.py [--cli build/app/itslab-cli] [--particles 4096] [--repeat 10]
"""
import argparse
import json
import math
import os
import subprocess
import tempfile
import time

import numpy as np
import torch


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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default="build/app/itslab-cli")
    ap.add_argument("--particles", type=int, default=4096)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

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

"""PyTorch definitions of the networks ITS Lab ships (docs/model-format.md has the file layout).

State-dict keys are the tensor names in model.safetensors, so the C++ port reads them directly.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class SinEmb(nn.Module):
    """emb = [cos(tau f_k), sin(tau f_k)], tau = 1000 t, f_k = exp(-ln(10000) k / half).

    The frequencies are a buffer so the file carries them and the port need not recompute them.
    """

    def __init__(self, dim):
        super().__init__()
        half = dim // 2
        self.register_buffer("freqs", torch.exp(-math.log(10000.0) * torch.arange(half) / half))

    def forward(self, t):
        a = (t.float() * 1000.0)[:, None] * self.freqs[None, :]
        return torch.cat([torch.cos(a), torch.sin(a)], dim=1)


class ToyBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width)
        self.emb = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, h, e):
        z = self.fc1(F.silu(self.norm(h))) + self.emb(e)
        return h + self.fc2(F.silu(z))


class ToyMLP(nn.Module):
    """The 2-D denoiser: x [B, d], t [B] -> velocity or eps [B, d]."""

    def __init__(self, dim=2, width=128, temb=64, blocks=3):
        super().__init__()
        self.temb = SinEmb(temb)
        self.tmlp = nn.Sequential(nn.Linear(temb, width), nn.SiLU(), nn.Linear(width, width))
        self.inp = nn.Linear(dim, width)
        self.blocks = nn.ModuleList(ToyBlock(width) for _ in range(blocks))
        self.out_norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, dim)

    def forward(self, x, t):
        e = F.silu(self.tmlp(self.temb(t)))
        h = self.inp(x)
        for b in self.blocks:
            h = b(h, e)
        return self.out(F.silu(self.out_norm(h)))


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb=128):
        super().__init__()
        self.n1 = nn.GroupNorm(8, cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb, cout)
        self.n2 = nn.GroupNorm(8, cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, e):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.emb(e)[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class Attn(nn.Module):
    def __init__(self, c=128, heads=4):
        super().__init__()
        self.heads = heads
        self.n = nn.GroupNorm(8, c)
        self.qkv = nn.Conv2d(c, 3 * c, 1)
        self.proj = nn.Conv2d(c, c, 1)

    def forward(self, x):
        B, C, H, W = x.shape
        q, k, v = self.qkv(self.n(x)).reshape(B, 3, self.heads, C // self.heads, H * W).unbind(1)
        a = torch.softmax(torch.einsum("bhci,bhcj->bhij", q, k) / math.sqrt(C // self.heads), -1)
        o = torch.einsum("bhij,bhcj->bhci", a, v).reshape(B, C, H, W)
        return x + self.proj(o)


class UNet(nn.Module):
    """FMNIST-UNet-S: x [B,1,28,28], t [B], y [B] (10 = null class) -> velocity."""

    def __init__(self, num_classes=10):
        super().__init__()
        self.temb = SinEmb(32)
        self.tmlp = nn.Sequential(nn.Linear(32, 128), nn.SiLU(), nn.Linear(128, 128))
        self.cemb = nn.Embedding(num_classes + 1, 128)
        self.conv_in = nn.Conv2d(1, 32, 3, padding=1)
        self.d0 = nn.ModuleList([ResBlock(32, 32)])
        self.down0 = nn.Conv2d(32, 32, 3, stride=2, padding=1)
        self.d1 = nn.ModuleList([ResBlock(32, 64)])
        self.down1 = nn.Conv2d(64, 64, 3, stride=2, padding=1)
        self.d2 = nn.ModuleList([ResBlock(64, 128)])
        self.m1 = ResBlock(128, 128)
        self.mattn = Attn(128)
        self.m2 = ResBlock(128, 128)
        self.u2 = ResBlock(256, 128)
        self.up2 = nn.Conv2d(128, 128, 3, padding=1)
        self.u1 = ResBlock(192, 64)
        self.up1 = nn.Conv2d(64, 64, 3, padding=1)
        self.u0 = ResBlock(96, 32)
        self.n_out = nn.GroupNorm(8, 32)
        self.conv_out = nn.Conv2d(32, 1, 3, padding=1)

    def forward(self, x, t, y):
        e = F.silu(self.tmlp(self.temb(t)) + self.cemb(y))
        h = self.conv_in(x)
        h = s0 = self.d0[0](h, e)
        h = self.down0(h)
        h = s1 = self.d1[0](h, e)
        h = self.down1(h)
        h = s2 = self.d2[0](h, e)
        h = self.m2(self.mattn(self.m1(h, e)), e)
        h = self.u2(torch.cat([h, s2], 1), e)
        h = self.up2(F.interpolate(h, scale_factor=2, mode="nearest"))
        h = self.u1(torch.cat([h, s1], 1), e)
        h = self.up1(F.interpolate(h, scale_factor=2, mode="nearest"))
        h = self.u0(torch.cat([h, s0], 1), e)
        return self.conv_out(F.silu(self.n_out(h)))


class Classifier(nn.Module):
    """FMNIST-Clf: 3 conv blocks + fc1 (128-d features for the Fréchet distance) + fc2."""

    def __init__(self):
        super().__init__()
        self.c1, self.bn1 = nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32)
        self.c2, self.bn2 = nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64)
        self.c3, self.bn3 = nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64)
        self.fc1 = nn.Linear(576, 128)
        self.fc2 = nn.Linear(128, 10)

    def features(self, x):
        h = F.max_pool2d(F.relu(self.bn1(self.c1(x))), 2)
        h = F.max_pool2d(F.relu(self.bn2(self.c2(h))), 2)
        h = F.max_pool2d(F.relu(self.bn3(self.c3(h))), 2)
        return F.relu(self.fc1(h.flatten(1)))

    def forward(self, x):
        return self.fc2(self.features(x))

    def folded_state(self):
        """c1..c3 with their eval-mode BatchNorm folded in, fc1, fc2: all the port needs."""
        out = {}
        for c, bn in ((self.c1, self.bn1), (self.c2, self.bn2), (self.c3, self.bn3)):
            name = [k for k, m in self.named_children() if m is c][0]
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            out[f"{name}.weight"] = c.weight * scale[:, None, None, None]
            out[f"{name}.bias"] = (c.bias - bn.running_mean) * scale + bn.bias
        for k in ("fc1", "fc2"):
            m = getattr(self, k)
            out[f"{k}.weight"], out[f"{k}.bias"] = m.weight, m.bias
        return {k: v.detach().float().numpy() for k, v in out.items()}

"""The end-to-end network: pixels of both cameras + the instruction's sentence vector + proprioception
-> K waypoints and gripper commands, the same output as the object-centric policy.

Per camera a small conv net whose feature maps the instruction modulates (FiLM: language decides
which visual features matter), read out by a spatial softmax (expected image coordinates of each
feature map, the visuomotor-policy standard: sub-pixel positions from 16 x 16 maps), fused with
the proprioception in an MLP. No object, no planner, no tokens: everything is learned from the
demonstrations.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor, nn

from hvla.skills.data import schema
from hvla.skills.policy import features as ft
from hvla.skills.policy.text import DIM as TEXT_DIM

# Mean/std of the renders' RGB (0..1); fixed rather than fitted so a checkpoint needs no statistics.
_MEAN = (0.55, 0.52, 0.48)
_STD = (0.25, 0.25, 0.25)


@dataclass(frozen=True)
class E2EConfig:
    image_size: int = 64
    cameras: int = 2
    channels: tuple[int, ...] = (32, 32, 32, 32)
    strides: tuple[int, ...] = (2, 2, 1, 1)  # 64 px -> 16 x 16 maps early: the cost is in the large maps
    text_dim: int = 128
    hidden: int = 512
    dropout: float = 0.1

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> E2EConfig:
        return cls(**{**d, "channels": tuple(d["channels"]), "strides": tuple(d["strides"])})


class SpatialSoftmax(nn.Module):
    """(B, C, H, W) -> (B, 2C): each map's softmax-weighted mean x and y in [-1, 1]."""

    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij")
        self.register_buffer("grid", torch.stack([xs.flatten(), ys.flatten()], dim=1), persistent=False)
        self.temperature = nn.Parameter(torch.ones(1))

    def forward(self, x: Tensor) -> Tensor:
        b, c = x.shape[:2]
        attn = torch.softmax(x.flatten(2) / self.temperature, dim=-1)  # (B, C, HW)
        return (attn @ self.grid).reshape(b, 2 * c)


class CameraEncoder(nn.Module):
    """Conv stack with FiLM from the instruction after every block; keypoints + pooled features out."""

    def __init__(self, config: E2EConfig) -> None:
        super().__init__()
        c = config.channels
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        self.films = nn.ModuleList()
        in_ch = 3
        for out_ch, stride in zip(c, config.strides):
            k = 5 if in_ch == 3 else 3
            self.convs.append(nn.Conv2d(in_ch, out_ch, k, stride, padding=k // 2))
            self.norms.append(nn.GroupNorm(8, out_ch))
            self.films.append(nn.Linear(config.text_dim, 2 * out_ch))
            in_ch = out_ch
        side = config.image_size // int(np.prod(config.strides))
        self.keypoints = SpatialSoftmax(side, side)
        self.out_dim = 3 * c[-1]

    def forward(self, image: Tensor, text: Tensor) -> Tensor:
        x = image
        for conv, norm, film in zip(self.convs, self.norms, self.films):
            gamma, beta = film(text).chunk(2, dim=-1)
            x = torch.relu(norm(conv(x)) * (1 + gamma[..., None, None]) + beta[..., None, None])
        return torch.cat([self.keypoints(x), x.mean(dim=(2, 3))], dim=-1)


class EndToEndPolicy(nn.Module):
    def __init__(self, config: E2EConfig) -> None:
        super().__init__()
        self.config = config
        self.text = nn.Sequential(nn.Linear(TEXT_DIM, config.text_dim), nn.ReLU())
        self.encoders = nn.ModuleList([CameraEncoder(config) for _ in range(config.cameras)])
        width = sum(e.out_dim for e in self.encoders) + config.text_dim + ft.PROPRIO_FEATURES
        self.head = nn.Sequential(
            nn.Linear(width, config.hidden), nn.ReLU(), nn.Dropout(config.dropout),
            nn.Linear(config.hidden, config.hidden), nn.ReLU(),
            nn.Linear(config.hidden, schema.CHUNK_K * 5),
        )
        self.register_buffer("mean", torch.tensor(_MEAN).repeat(config.cameras)[:, None, None], persistent=False)
        self.register_buffer("std", torch.tensor(_STD).repeat(config.cameras)[:, None, None], persistent=False)

    def forward(self, images: Tensor, text: Tensor, proprio: Tensor) -> Tensor:
        """images (B, 3 * cameras, S, S) uint8 or float in 0..1; text (B, 384); proprio (B, PROPRIO_FEATURES).

        Returns (B, K, 5): offsets [10 cm], yaw offset, gripper-open logit (as `features.decode_outputs` reads)."""
        if images.dtype == torch.uint8:
            images = images.float() / 255.0
        x = (images - self.mean) / self.std
        t = self.text(text)
        feats = [enc(x[:, 3 * i:3 * i + 3], t) for i, enc in enumerate(self.encoders)]
        out = self.head(torch.cat([*feats, t, proprio], dim=-1))
        return out.view(-1, schema.CHUNK_K, 5)

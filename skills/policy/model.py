"""The object-centric transformer: tokens for the subgoal, the robot and every object -> K waypoints.

Token sequence (S = 3 + MAX_ARGS + N): [readout, proprio, skill text, argument texts..., objects...].
A small pre-norm encoder lets the readout token attend to everything. The head reads the readout
and proprio outputs *and* the outputs and input features of the tokens the subgoal names (by role:
object, target, tool, region): a grasp needs the target's offset to the millimetre, and a value
averaged through attention blurs it. It decodes K waypoint offsets (relative to the hand), yaw
offsets and gripper logits. Attention weights of the last forward pass are kept per layer for the
debugging tools (`last_attention`); what the head reads (`embed`) feeds the anomaly detector.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from hvla.core.errors import ConfigError
from hvla.skills.data import schema
from hvla.skills.policy import features as ft

TEXT_DIM = 384  # MiniLM sentence embedding


@dataclass(frozen=True)
class PolicyConfig:
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    ff_mult: int = 2
    dropout: float = 0.05
    chunk_k: int = schema.CHUNK_K
    n_slots: int = schema.N_SLOTS
    history: tuple[int, ...] = ft.HISTORY
    obj_features: int = ft.OBJ_FEATURES
    proprio_features: int = ft.PROPRIO_FEATURES

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ConfigError(f"d_model={self.d_model} must be a multiple of n_heads={self.n_heads}")
        if self.n_layers < 1 or self.chunk_k < 1:
            raise ConfigError("n_layers and chunk_k must be >= 1")

    def to_json(self) -> dict:
        d = asdict(self)
        d["history"] = list(self.history)
        return d

    @classmethod
    def from_json(cls, d: dict) -> PolicyConfig:
        return cls(**{**d, "history": tuple(d["history"])})


class Block(nn.Module):
    """Pre-norm self-attention + MLP; keeps its attention weights (B, heads, S, S) when asked."""

    def __init__(self, d: int, heads: int, ff_mult: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, ff_mult * d), nn.GELU(), nn.Linear(ff_mult * d, d))
        self.drop = nn.Dropout(dropout)
        self.attention: Tensor | None = None

    def forward(self, x: Tensor, pad: Tensor, keep_attention: bool) -> Tensor:
        B, S, D = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(B, S, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(D // self.heads)
        scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
        attn = scores.softmax(dim=-1)
        self.attention = attn.detach() if keep_attention else None
        y = (attn @ v).transpose(1, 2).reshape(B, S, D)
        x = x + self.drop(self.proj(y))
        return x + self.drop(self.mlp(self.norm2(x)))


class ObjectCentricPolicy(nn.Module):
    def __init__(self, config: PolicyConfig, text_table: Tensor) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        # The MiniLM table is data, not a parameter: saved with the weights, never trained.
        self.register_buffer("text_table", text_table.float().clone())
        self.text_in = nn.Linear(TEXT_DIM, d)
        self.obj_in = nn.Sequential(nn.Linear(config.obj_features, d), nn.GELU(), nn.Linear(d, d))
        self.proprio_in = nn.Sequential(nn.Linear(config.proprio_features, d), nn.GELU(), nn.Linear(d, d))
        self.category = nn.Embedding(len(schema.CATEGORIES), d)
        self.role = nn.Embedding(len(ft.ROLES), d)
        self.kind = nn.Embedding(5, d)  # readout, proprio, skill, argument, object
        self.readout = nn.Parameter(torch.zeros(1, 1, d))
        self.blocks = nn.ModuleList(
            Block(d, config.n_heads, config.ff_mult, config.dropout) for _ in range(config.n_layers)
        )
        self.norm = nn.LayerNorm(d)
        n_roles = len(ft.ROLES) - 1
        head_in = 2 * d + n_roles * (d + config.obj_features) + config.proprio_features
        self.head = nn.Sequential(nn.Linear(head_in, 2 * d), nn.GELU(), nn.Linear(2 * d, 2 * d), nn.GELU(),
                                  nn.Linear(2 * d, config.chunk_k * 5))
        self.keep_attention = False

    def tokens(self, raw: ft.RawBatch, obj: Tensor, category: Tensor, valid: Tensor, prop: Tensor,
               text_table: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """(B, S, d) token embeddings and (B, S) padding mask (`text_table`: instead of the stored one)."""
        table = self.text_table if text_table is None else text_table
        B = obj.shape[0]
        kinds = self.kind.weight
        objects = self.obj_in(obj) + self.category(category) + self.role(raw.roles) + kinds[4]
        proprio = self.proprio_in(prop)[:, None] + kinds[1]
        skill = self.text_in(table[raw.skill])[:, None] + kinds[2]
        args = self.text_in(table[raw.args]) + self.role(raw.arg_roles) + kinds[3]
        readout = self.readout.expand(B, 1, -1) + kinds[0]
        x = torch.cat([readout, proprio, skill, args, objects], dim=1)
        fixed = torch.zeros(B, 3, dtype=torch.bool, device=x.device)
        pad = torch.cat([fixed, raw.arg_roles == 0, ~valid], dim=1)
        return x, pad

    def forward(self, raw: ft.RawBatch) -> Tensor:
        """(B, K, 5): waypoint offsets (3, in 10 cm), yaw offset [rad], gripper-open logit."""
        return self.decode(self.embed(raw))

    def decode(self, situation: Tensor) -> Tensor:
        """(B, K, 5) from what the head reads (`embed`): callers that also need the situation call both."""
        return self.head(situation).view(-1, self.config.chunk_k, 5)

    def embed(self, raw: ft.RawBatch, text_table: Tensor | None = None) -> Tensor:
        """(B, F) what the head reads: the situation as the policy sees it (the anomaly detector's input).

        The readout and proprio outputs, the outputs and raw features of the tokens the subgoal names
        and the proprio features.

        `text_table` replaces the stored MiniLM table (the ONNX export takes it as an input, so words
        first met at run time reach the exported graph too)."""
        obj, category, valid = ft.object_features(raw)
        prop = ft.proprio_features(raw)
        x, pad = self.tokens(raw, obj, category, valid, prop, text_table)
        for block in self.blocks:
            x = block(x, pad, self.keep_attention)
        x = self.norm(x)
        first_obj = 3 + ft.MAX_ARGS
        parts = [x[:, 0], x[:, 1]]
        for role in range(1, len(ft.ROLES)):
            mask = (raw.roles == role).float()  # (B, N); at most one slot per role
            parts += [torch.einsum("bn,bnd->bd", mask, x[:, first_obj:]), torch.einsum("bn,bnf->bf", mask, obj)]
        return torch.cat([*parts, prop], dim=-1)

    def last_attention(self) -> list[Tensor]:
        """Per layer (B, heads, S, S) from the last forward with `keep_attention = True`."""
        return [b.attention for b in self.blocks if b.attention is not None]

    def token_kinds(self) -> list[str]:
        return ["readout", "proprio", "skill", *(f"arg{i}" for i in range(ft.MAX_ARGS)),
                *(f"slot{i}" for i in range(self.config.n_slots))]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

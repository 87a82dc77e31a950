"""Temporal ensembling of overlapping action chunks (receding horizon, as in ACT).

A chunk predicted at step s covers steps s+1 .. s+K. At step t every kept chunk that still covers
t+1 .. t+K votes for those steps, weighted by exp(-decay * age): recent chunks dominate (they saw
the latest scene) while older ones smooth the path. Positions are averaged in the world frame, yaws
on the circle, gripper-open probabilities linearly. The spread of the votes for the next waypoint
becomes the chunk's confidence.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hvla.core.errors import ConfigError


@dataclass(frozen=True)
class EnsembleConfig:
    decay: float = 0.7  # per step of age; large = newest chunk only
    horizon: int = 4  # chunks kept (1 = no ensembling)
    spread_for_zero_confidence_m: float = 0.05
    gripper_hold_s: float = 0.5  # after the gripper command flips, keep it this long (the expert's dwell)

    def __post_init__(self) -> None:
        if self.decay < 0 or self.horizon < 1:
            raise ConfigError(f"ensemble decay {self.decay} must be >= 0 and horizon {self.horizon} >= 1")


class TemporalEnsembler:
    def __init__(self, config: EnsembleConfig | None = None) -> None:
        self.config = config or EnsembleConfig()
        self.chunks: deque[tuple[NDArray, NDArray, NDArray]] = deque(maxlen=self.config.horizon)
        self._grip_open: bool | None = None
        self._grip_held_s = 0.0

    def reset(self) -> None:
        self.chunks.clear()
        self._grip_open, self._grip_held_s = None, 0.0

    def gripper(self, p_open: NDArray, dt_s: float) -> NDArray:
        """Open/closed per waypoint from blended probabilities, with a minimum hold after each flip.

        A closing gripper needs a few tenths of a second to close on the object; a policy that
        changes its mind after one step (the fingers have barely moved, so the scene looks like
        before the decision) would never finish a grasp. The expert dwells 0.4-0.5 s; so do we.
        """
        wanted = p_open > 0.5
        self._grip_held_s += dt_s
        flip = self._grip_open is not None and wanted[0] != self._grip_open
        if self._grip_open is None or (flip and self._grip_held_s >= self.config.gripper_hold_s):
            if flip:
                self._grip_held_s = 0.0
            self._grip_open = bool(wanted[0])
        if self._grip_held_s < self.config.gripper_hold_s:
            wanted = np.full_like(wanted, self._grip_open)
        return wanted

    def __call__(self, pos: NDArray, yaw: NDArray, p_open: NDArray) -> tuple[NDArray, NDArray, NDArray, float]:
        """Add the newest chunk ((K, 3), (K,), (K,)); return the blended chunk and a confidence in [0, 1]."""
        self.chunks.appendleft((np.asarray(pos, float), np.asarray(yaw, float), np.asarray(p_open, float)))
        k = len(pos)
        out_pos, out_yaw, out_p = np.empty((k, 3)), np.empty(k), np.empty(k)
        spread = 0.0
        for i in range(k):
            w, ps, ys, gs = [], [], [], []
            for age, (cp, cy, cg) in enumerate(self.chunks):
                j = i + age
                if j < len(cp):
                    w.append(np.exp(-self.config.decay * age))
                    ps.append(cp[j])
                    ys.append(cy[j])
                    gs.append(cg[j])
            wa = np.array(w) / np.sum(w)
            pa = np.array(ps)
            out_pos[i] = wa @ pa
            out_yaw[i] = np.arctan2(wa @ np.sin(ys), wa @ np.cos(ys))
            out_p[i] = wa @ np.array(gs)
            if i == 0:
                spread = float(np.sqrt(wa @ np.sum((pa - out_pos[0]) ** 2, axis=1)))
        confidence = float(np.clip(1.0 - spread / self.config.spread_for_zero_confidence_m, 0.0, 1.0))
        return out_pos, out_yaw, out_p, confidence

"""Oracle perception: tokens straight from simulator ground truth, in the learned tokens' shape.

It is how an engineer tells a perception failure from a policy failure: swap it in with
`--perception oracle` and see whether the episode now succeeds.
"""

from __future__ import annotations

import zlib

import numpy as np

from hvla.core.errors import MessageError
from hvla.core.messages import ObjectToken, Observation, Scene
from hvla.perception.base import PERCEPTION

DIRT_LABEL = "dirt"
REGION_NAME = "counter"  # the planner grounds "the counter" to this region token


def _stable_id(name: str) -> int:
    return zlib.crc32(name.encode()) % 100_000


@PERCEPTION.register("oracle")
class OraclePerception:
    cameras: tuple[str, ...] = ()

    def reset(self) -> None:
        """Ground truth needs no tracking state."""

    def perceive(self, obs: Observation) -> Scene:
        if obs.truth is None:
            raise MessageError("oracle perception needs simulator truth; this observation has none")
        tokens = [
            ObjectToken(
                track_id=_stable_id(o.name), label=o.label, score=1.0, position_m=o.position_m,
                extent_m=o.extent_m, color_name=o.color_name, color_rgb=o.color_rgb, yaw_rad=o.yaw_rad,
                category=o.category, name=o.name, articulation=o.articulation, footprint_m=o.footprint_m,
            )
            for o in obs.truth.objects
        ]
        truth = obs.truth
        if truth.dirt_size_m.any():
            tokens.append(ObjectToken(
                track_id=_stable_id(DIRT_LABEL), label=DIRT_LABEL, score=1.0,
                position_m=truth.dirt_center_m,
                extent_m=np.array([*truth.dirt_size_m, 0.001]),
                color_name="brown", color_rgb=np.array([0.35, 0.25, 0.12]),
                category="region", name=REGION_NAME,
            ))
        return Scene(tuple(tokens), obs)

"""Synthetic scenes for planner tests: tokens placed by hand, no simulator.

The robot base sits at the origin looking along +x: left is +y, near is small x.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from hvla.core.messages import ObjectToken, Observation, Proprio, Scene
from hvla.planner.language.encoder import MiniLMEncoder, shared_encoder


def token(
    name: str,
    label: str,
    category: str,
    color: str,
    position_m: tuple[float, float, float],
    extent_m: tuple[float, float, float] = (0.06, 0.06, 0.06),
) -> ObjectToken:
    return ObjectToken(
        track_id=abs(hash(name)) % 1000,
        label=label,
        score=1.0,
        position_m=np.array(position_m),
        extent_m=np.array(extent_m),
        color_name=color,
        color_rgb=np.full(3, 0.5),
        category=category,
        name=name,
    )


def make_scene(*tokens: ObjectToken) -> Scene:
    """A Scene of `tokens` seen from a robot at rest (zero joints, identity end-effector pose)."""
    proprio = Proprio(q_rad=np.zeros(7), dq_radps=np.zeros(7), gripper_m=0.0, T_world_ee=np.eye(4))
    return Scene(tuple(tokens), Observation(t_s=0.0, proprio=proprio))


@pytest.fixture
def scene_of() -> Callable[..., Scene]:
    """`scene_of(token(...), ...)`: build a scene in a test."""
    return make_scene


@pytest.fixture
def make_token() -> Callable[..., ObjectToken]:
    return token


@pytest.fixture
def kitchen() -> Scene:
    """Like the simulator's kitchen: three fruits of different colours, a bowl, a red cup, a plate
    (category "surface"), a sponge, a distractor block and the dirt patch oracle perception names "counter"."""
    return make_scene(
        token("banana", "banana", "fruit", "yellow", (0.45, 0.15, 0.02), (0.16, 0.036, 0.036)),
        token("apple", "apple", "fruit", "red", (0.50, -0.15, 0.03), (0.064, 0.064, 0.064)),
        token("mango", "mango", "fruit", "orange-yellow", (0.35, -0.05, 0.03), (0.10, 0.066, 0.06)),
        token("bowl", "bowl", "container", "white", (0.55, 0.00, 0.025), (0.20, 0.20, 0.05)),
        token("cup", "cup", "container", "red", (0.62, 0.25, 0.045), (0.09, 0.09, 0.09)),
        token("plate", "plate", "surface", "grey", (0.40, 0.32, 0.008), (0.20, 0.20, 0.016)),
        token("sponge", "sponge", "tool", "green", (0.30, -0.30, 0.018), (0.09, 0.06, 0.036)),
        token("block_0", "block", "distractor", "purple", (0.62, -0.28, 0.022), (0.044, 0.044, 0.044)),
        token("counter", "dirt", "region", "brown", (0.45, -0.35, 0.0), (0.15, 0.10, 0.001)),
    )


@pytest.fixture
def two_apples() -> Scene:
    """Two identical red apples, one left (+y) and one right (-y), a near and a far bowl."""
    return make_scene(
        token("apple_0", "apple", "fruit", "red", (0.45, 0.20, 0.04)),
        token("apple_1", "apple", "fruit", "red", (0.45, -0.20, 0.04)),
        token("bowl_0", "bowl", "container", "white", (0.35, 0.00, 0.04), (0.16, 0.16, 0.07)),
        token("bowl_1", "bowl", "container", "white", (0.65, 0.00, 0.04), (0.16, 0.16, 0.07)),
        token("sponge", "sponge", "tool", "yellow", (0.30, -0.35, 0.02), (0.09, 0.06, 0.03)),
    )


@pytest.fixture
def kitchen_unseen(kitchen) -> Scene:
    """The kitchen as a detector that does not know mangoes sees it: the mango is an "object"."""
    tokens = [
        token("object_7", "object", "object", t.color_name, tuple(t.position_m), tuple(t.extent_m))
        if t.name == "mango" else t
        for t in kitchen.tokens
    ]
    return make_scene(*tokens)


@pytest.fixture(scope="session")
def encoder() -> MiniLMEncoder:
    """The shipped MiniLM, loaded once for the whole session (a few seconds)."""
    enc = shared_encoder()
    enc.load()
    return enc

"""The `World` interface: where a stack runs (hvla's kitchen, LIBERO, a real cell).

A world is a `Robot` that also knows its cameras and how to judge a subgoal: the kitchen from its own
simulator predicates, LIBERO from its BDDL goal check, a real cell from perceived tokens. The layers
never ask which world they are in; the builder hands the executor `world.succeeded`.
"""

from __future__ import annotations

from typing import Protocol

from hvla.core.messages import Scene, Subgoal
from hvla.core.robot import Robot


class World(Robot, Protocol):
    """A body to command plus what only the world knows: its camera names and its success check."""

    cameras: tuple[str, ...]  # every view `observe` can render
    # Where the gripper's fingertips end relative to its TCP along the approach axis [m] (negative: below it).
    # Bodies differ (hvla's kitchen Panda: -0.0095, robosuite's: +0.0018); scripted grasps keep the tips clear.
    fingertip_above_tcp_m: float
    # How far below a vessel's rim the TCP closes on its wall [m]: the finger pads must sit on the lip, and their
    # length differs (hvla's kitchen Panda: 0.02; robosuite's short pads slip off a bowl's tapered wall lower than
    # 0.012, measured on LIBERO's akita bowl).
    rim_grasp_depth_m: float
    # Whose left "left" means in the instructions this world is given: the speaker's left as a horizontal
    # direction [x, y]; None: the robot's own (+y). LIBERO's sentences are written looking at its scene camera.
    speaker_left_xy: tuple[float, float] | None
    # Height of the table top in the base frame [m]: the controllers' workspace floor (kitchen 0; LIBERO's tables
    # sit 1.2 cm below its robots' bases, and differ per scene).
    table_z_m: float

    def succeeded(self, subgoal: Subgoal, scene: Scene) -> bool:
        """Whether `subgoal` holds now (truth where the world has it, else the perceived `scene`)."""
        ...

    def close(self) -> None:
        """Release the renderer, server or connection."""
        ...

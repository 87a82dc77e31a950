"""What the scripted expert would do over the next K steps, across its phase switches.

The expert plans one phase at a time: while its fingers close its chunk says "stay" for all K
steps, and the lift appears only once the phase has switched. A policy trained on such chunks
waits with the object in its hand (see `samples.splice_phase_switches`, which mends recorded
demonstrations from what the expert did next). A DAgger label has no "next" to splice from: the
learner, not the expert, moved on. So the label is planned ahead instead: a copy of the expert is
run forward on an imagined hand that reaches each of its waypoints exactly (the scene stands still,
the fingers reach their command at once, no re-grasps), and waypoint 0 of each step is kept.
Within a phase this is the expert's own straight chunk; at a phase's end it runs on into the next.
"""

from __future__ import annotations

import copy

import numpy as np

from hvla.controllers.transforms import quat_wxyz_to_matrix
from hvla.core.messages import ActionChunk, Proprio, Scene
from hvla.skills.scripted.experts import PhaseExpert

NO_REGRASP = 10**6  # the imagined fingers close on nothing: the ghost must not take that as a missed grasp


def imagined_hand(proprio: Proprio, pose: np.ndarray, gripper_m: float) -> Proprio:
    """The hand at waypoint `pose` (xyz + quaternion wxyz), fingers at their command, at rest."""
    T = np.eye(4)
    T[:3, :3] = quat_wxyz_to_matrix(pose[3:7])
    T[:3, 3] = pose[:3]
    return Proprio(proprio.q_rad, np.zeros(7), float(gripper_m), T)


def look_ahead(expert: PhaseExpert, scene: Scene, proprio: Proprio, first: ActionChunk,
               gripper: bool = True) -> ActionChunk:
    """K waypoints from `first` (the chunk `expert.act` just returned) that run on across phase switches.

    `expert` is not changed. With `gripper=False` every waypoint keeps the gripper command of the
    moment (the label of a policy trained without anticipated closes).
    """
    ghost = copy.copy(expert)
    ghost.regrasps = NO_REGRASP
    targets = [first.ee_targets[0]]
    grip = [float(first.gripper_m[0])]
    for _ in range(1, len(first.ee_targets)):
        step = ghost.act(scene, imagined_hand(proprio, targets[-1], grip[-1]))
        targets.append(step.ee_targets[0])
        grip.append(float(step.gripper_m[0]) if gripper else grip[0])
    return ActionChunk(np.array(targets), np.array(grip), first.confidence, first.dt_s)

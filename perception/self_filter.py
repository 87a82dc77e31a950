"""Robot self-filtering: drop the depth points that lie on the hand or the fingers.

An object right under the open gripper is often segmented together with the fingertips around it,
and its back-projected points then reach up the fingers: the banana "rises" 4 cm as the hand comes
down to grasp it, so the grasp target rises too and the hand hovers. The hand's pose and opening
are known (proprioception), so the points inside its volume are removed before any estimate, as a
robot self-filter does with the URDF. Boxes are in the TCP frame (z along the approach, y along the
finger travel), measured from the Panda hand's collision geometry with 5 mm of margin; points
between the fingers (the object being grasped) are kept.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

HAND_LO_M = np.array([-0.037, -0.111, -0.14])
HAND_HI_M = np.array([0.037, 0.111, -0.027])
FINGER_HALF_X_M = 0.016
FINGER_Z_M = (-0.05, 0.015)
FINGER_THICKNESS_M = 0.031  # outward from the inner face of each finger


def on_gripper(points_world: NDArray[np.float64], T_world_ee: NDArray[np.float64], gripper_m: float
               ) -> NDArray[np.bool_]:
    """(N,) True for the points inside the hand's or the fingers' volume."""
    local = (points_world - T_world_ee[:3, 3]) @ T_world_ee[:3, :3]
    hand = np.all((local >= HAND_LO_M) & (local <= HAND_HI_M), axis=1)
    inner = 0.5 * float(gripper_m) - 0.002
    ay = np.abs(local[:, 1])
    finger = ((np.abs(local[:, 0]) <= FINGER_HALF_X_M) & (ay >= inner) & (ay <= inner + FINGER_THICKNESS_M)
              & (local[:, 2] >= FINGER_Z_M[0]) & (local[:, 2] <= FINGER_Z_M[1]))
    return hand | finger

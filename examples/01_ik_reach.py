"""01 - Inverse kinematics: put the Panda's hand at a few poses and see how close it gets.

The controllers layer turns end-effector targets into joint angles with `IkSolver` (damped least
squares on pinocchio's `PandaModel`). A target out of reach raises `UnreachableError`, which carries
the best residual it found. Run: `.venv/bin/python examples/01_ik_reach.py`
"""

from __future__ import annotations

import numpy as np

from hvla.controllers import IkSolver, PandaModel, pose_error
from hvla.controllers.transforms import pose_to_matrix
from hvla.core import panda
from hvla.core.errors import UnreachableError
from hvla.skills.scripted.motion import down_quat_wxyz

model = PandaModel()
solver = IkSolver(model)
q_ready = panda.Q_READY_RAD
T_ready = model.fk(q_ready)
print(f"ready pose: hand at {np.round(T_ready[:3, 3], 3).tolist()} m")

# Top-down grasp poses over the table: position [m] and a yaw of the hand about world z [rad].
targets = {
    "above the table centre": ([0.5, 0.0, 0.20], 0.0),
    "low, to the left": ([0.45, 0.30, 0.05], 0.5),
    "low, to the right": ([0.45, -0.30, 0.05], -0.5),
    "far and high": ([0.70, 0.10, 0.40], 1.2),
}
print(f"{'target':<24} {'position [m]':<22} {'pos error [mm]':>15} {'rot error [deg]':>16}")
for name, (xyz, yaw) in targets.items():
    T_target = pose_to_matrix(np.r_[xyz, down_quat_wxyz(yaw)])
    q = solver.solve(T_target, q_ready)  # warm-started from the ready pose
    err_m, err_rad = pose_error(model.fk(q), T_target)
    print(f"{name:<24} {xyz!s:<22} {err_m * 1e3:>15.3f} {np.degrees(err_rad):>16.3f}")
    assert err_m < 1e-3 and err_rad < 1e-2

# Two metres away is beyond any configuration: the solver says so instead of returning junk.
far = pose_to_matrix(np.r_[2.0, 0.0, 0.3, down_quat_wxyz(0.0)])
try:
    solver.solve(far, q_ready)
except UnreachableError as exc:
    print(f"UnreachableError for a far target: {exc}")
    print(f"  the target lies {exc.residual_m:.2f} m beyond the arm's reach")
else:
    raise SystemExit("expected UnreachableError for a target 2 m away")

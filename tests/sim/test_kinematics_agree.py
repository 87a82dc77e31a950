"""pinocchio (controllers) and MuJoCo (sim) read the same URDF: their TCP poses must agree."""

import mujoco
import numpy as np

from hvla.controllers.robot_model import PandaModel
from hvla.sim.world import KitchenWorld


def test_pinocchio_and_mujoco_tcp_agree_below_a_millimetre():
    world, model = KitchenWorld(seed=0), PandaModel()
    rng = np.random.default_rng(0)
    for _ in range(50):
        q = model.random_q(rng)
        world.data.qpos[world._arm_qpos] = q
        mujoco.mj_forward(world.model, world.data)
        T_sim = world.proprio().T_world_ee
        T_pin = model.fk(q)
        assert np.linalg.norm(T_sim[:3, 3] - T_pin[:3, 3]) < 1e-3
        assert np.abs(T_sim[:3, :3] - T_pin[:3, :3]).max() < 1e-3

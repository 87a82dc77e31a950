"""The simulated kitchen: determinism, objects, physics stability, cameras and predicates."""

from __future__ import annotations

import numpy as np
import pytest

from hvla.core import panda
from hvla.core.errors import ConfigError
from hvla.core.robot import JointCommand
from hvla.sim.scene import SceneConfig, sample_layout
from hvla.sim.world import KitchenWorld, SimConfig


def test_same_seed_gives_the_same_world_bit_for_bit():
    a, b = KitchenWorld(seed=7), KitchenWorld(seed=7)
    assert a.layout == b.layout
    for _ in range(20):
        cmd = JointCommand(panda.Q_READY_RAD + 0.05, np.zeros(7), 0.02)
        a.command(cmd)
        b.command(cmd)
    np.testing.assert_array_equal(a.data.qpos, b.data.qpos)


def test_different_seeds_differ():
    assert sample_layout(1) != sample_layout(2)


def test_kitchen_holds_every_required_object_and_excludes_on_request():
    world = KitchenWorld(seed=0, scene=SceneConfig(optional=("mango",), optional_p=1.0))
    names = world.layout.names()
    for label in ("banana", "apple", "lemon", "mango", "bowl", "plate", "sponge"):
        assert label in names
    no_mango = sample_layout(0, SceneConfig(optional=("mango", "cup"), optional_p=1.0, exclude=("mango",)))
    assert "mango" not in no_mango.names()


def test_objects_rest_on_the_table_after_settling():
    world = KitchenWorld(seed=3)
    for obj in world.truth().objects:
        bottom = obj.position_m[2] - obj.extent_m[2] / 2
        assert -0.005 < bottom < 0.01, obj.name
    assert world.truth().grasped is None
    assert world.truth().wiped_fraction == 0.0


def test_arm_tracks_a_joint_setpoint():
    world = KitchenWorld(seed=0)
    target = panda.Q_READY_RAD + np.array([0.2, 0.1, -0.1, 0.1, 0.0, 0.1, 0.2])
    for _ in range(600):
        world.command(JointCommand(target, np.zeros(7), 0.08))
    np.testing.assert_allclose(world.proprio().q_rad, target, atol=5e-3)
    assert world.proprio().gripper_m == pytest.approx(0.08, abs=2e-3)


def test_bad_sim_config_is_rejected():
    with pytest.raises(ConfigError, match="multiple"):
        SimConfig(timestep_s=0.002, control_dt_s=0.003)
    with pytest.raises(ConfigError, match="unknown object"):
        SceneConfig(required=("unicorn",))


@pytest.mark.render
def test_cameras_render_rgb_depth_segmentation_with_consistent_geometry():
    world = KitchenWorld(seed=3, config=SimConfig(segmentation=True))
    obs = world.observe()
    for name in ("scene", "wrist"):
        frame = obs.frames[name]
        assert frame.rgb.shape == (128, 128, 3) and frame.rgb.std() > 5
        assert frame.segmentation is not None
    scene = obs.frames["scene"]
    # Back-project the centre pixel of each visible object: it must land near the object.
    K, T = scene.info.K, scene.info.T_world_cam
    for idx, obj in enumerate(obs.truth.objects):
        v, u = np.nonzero(scene.segmentation == idx)
        if len(u) < 20:
            continue
        z = np.nanmedian(scene.depth_m[v, u])
        ray = np.linalg.solve(K, np.array([np.median(u), np.median(v), 1.0]))
        p_world = T[:3, :3] @ (ray * z) + T[:3, 3]
        assert np.linalg.norm(p_world[:2] - obj.position_m[:2]) < 0.06, obj.name

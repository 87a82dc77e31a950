import numpy as np

from hvla.perception.oracle import OraclePerception
from hvla.sim.world import KitchenWorld
from hvla.skills.scripted.experts import PhaseExpert, pick_phases
from hvla.skills.scripted.lookahead import imagined_hand, look_ahead


def _at_grasp(seed: int = 5):
    obs = KitchenWorld(seed=seed).observe(())
    scene = OraclePerception().perceive(obs)
    expert = PhaseExpert(pick_phases("apple"))
    grasp, yaw = expert.phases[3].target(scene, obs.proprio)
    from hvla.skills.scripted.motion import down_quat_wxyz

    hand = imagined_hand(obs.proprio, np.array([*grasp, *down_quat_wxyz(yaw)]), 0.0)
    return scene, expert, hand, grasp


def test_a_closing_hand_is_labelled_with_the_lift_that_follows_the_dwell():
    scene, expert, hand, grasp = _at_grasp()
    expert.goto([p.name for p in expert.phases].index("close"))
    first = expert.act(scene, hand)
    ahead = look_ahead(expert, scene, hand, first)
    z = ahead.ee_targets[:, 2]
    # One-phase chunk: stay for all K steps. Ahead: the dwell (0.5 s) ends, then the hand rises.
    np.testing.assert_allclose(first.ee_targets[:, 2], grasp[2], atol=1e-9)
    np.testing.assert_allclose(z[:4], grasp[2], atol=1e-9)
    assert z[-1] > grasp[2] + 0.05 and np.all(np.diff(z) >= -1e-9)
    assert np.all(ahead.gripper_m == 0.0)
    assert expert.phase.name == "close"  # the tracked expert itself did not move on


def test_within_a_phase_the_label_is_the_experts_own_chunk():
    obs = KitchenWorld(seed=6).observe(())
    scene = OraclePerception().perceive(obs)
    expert = PhaseExpert(pick_phases("banana"))
    expert.goto(1)  # "above": far from its target, the whole chunk is one straight line
    first = expert.act(scene, obs.proprio)
    ahead = look_ahead(expert, scene, obs.proprio, first)
    np.testing.assert_allclose(ahead.ee_targets[:, :3], first.ee_targets[:, :3], atol=1e-6)


def test_the_gripper_label_can_stay_the_command_of_the_moment():
    scene, expert, hand, _ = _at_grasp()
    expert.goto([p.name for p in expert.phases].index("descend"))
    first = expert.act(scene, hand)  # at the grasp point: the descent is done, the fingers start to close
    ahead = look_ahead(expert, scene, hand, first, gripper=False)
    assert np.all(ahead.gripper_m == first.gripper_m[0])

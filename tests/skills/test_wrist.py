"""The yaw a top-down hand turns to keeps the Panda's last joint inside its range (skills/scripted/wrist.py)."""

import numpy as np

from hvla.skills.scripted.wrist import wrist_at, wrist_safe_turn


def test_the_near_yaw_is_kept_while_the_wrist_has_room() -> None:
    turn = wrist_safe_turn(0.785, 0.0, np.array([0.5, 0.0]), np.radians(40), np.array([0.5, 0.0]))
    assert np.isclose(turn, np.radians(40))


def test_the_far_yaw_when_the_near_one_takes_the_wrist_to_its_limit() -> None:
    # A bowl straight ahead grasped at yaw -88 degrees puts q7 at ~2.3 rad; carried round to the stove at +30
    # degrees of bearing, it reaches the 2.8 rad limit. The other yaw (+92 degrees) keeps q7 near -0.8.
    turn = wrist_safe_turn(0.785, 0.0, np.array([0.5, 0.0]), np.radians(-88), np.array([0.5, 0.0]))
    assert np.isclose(turn, np.radians(92))
    q7 = wrist_at(0.785, 0.0, np.array([0.5, 0.0]), turn, np.array([0.5, 0.0]))
    assert abs(q7) < 1.0


def test_the_bearing_round_the_base_turns_the_wrist() -> None:
    # Same hand yaw, the hand swung 30 degrees round the base: the last joint turns by as much.
    xy = np.array([0.5 * np.cos(np.radians(30)), 0.5 * np.sin(np.radians(30))])
    q7 = wrist_at(0.0, 0.0, np.array([0.5, 0.0]), 0.0, xy)
    assert np.isclose(q7, np.radians(30))


def test_neither_yaw_has_room_the_one_with_more_is_taken() -> None:
    turn = wrist_safe_turn(2.5, 0.0, np.array([0.5, 0.0]), np.radians(-10), np.array([0.5, 0.0]), headroom_rad=2.0)
    assert np.isclose(turn, np.radians(170))

"""Frame health: stale and frozen frames are refused like a lost camera; fresh, changing ones pass."""

import numpy as np

from hvla.core.messages import CameraFrame, CameraInfo, Observation, Proprio
from hvla.perception.frame_health import FrameHealth


def observation(t_s: float, hand_x_m: float, rgb: np.ndarray, stamp_s: float | None = None) -> Observation:
    info = CameraInfo("scene", np.eye(3), np.eye(4), 8, 8)
    T = np.eye(4)
    T[0, 3] = hand_x_m
    proprio = Proprio(np.zeros(7), np.zeros(7), 0.04, T)
    frame = CameraFrame(info, rgb, np.ones((8, 8), np.float32), stamp_s=stamp_s)
    return Observation(t_s, proprio, {"scene": frame})


def image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8)


def check(health: FrameHealth, obs: Observation) -> str | None:
    return health.fault("scene", obs.frames["scene"], obs)


def test_a_repeated_image_while_the_hand_moves_is_frozen():
    health = FrameHealth()
    assert check(health, observation(0.0, 0.0, image(0))) is None
    assert check(health, observation(0.1, 0.005, image(0))) is None  # 5 mm: within the noise of a still hand
    assert check(health, observation(0.2, 0.02, image(0))) == "frozen_camera"
    assert check(health, observation(0.3, 0.03, image(1))) is None  # a new image: the camera is back


def test_a_repeated_image_of_a_still_scene_is_not_frozen():
    health = FrameHealth()
    for i in range(5):
        assert check(health, observation(0.1 * i, 0.0, image(0))) is None


def test_a_frame_older_than_the_bound_is_stale():
    health = FrameHealth()
    assert check(health, observation(1.0, 0.0, image(0), stamp_s=0.95)) is None
    assert check(health, observation(1.1, 0.0, image(1), stamp_s=0.8)) == "stale_camera"

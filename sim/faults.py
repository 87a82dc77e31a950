"""Sensor and timing faults injected between a world and the stack, for the fault-injection suite.

`FaultyRobot` wraps any `Robot` and, from `start_s` on (simulated time), corrupts what it reports the way a
failing sensor or driver would: a camera that stops delivering, freezes or delivers late, depth with holes
or garbage, a NaN from an encoder, a NaN object pose, or a sender that goes silent (time passes with the arm
holding its last setpoint, no new command). It also keeps every joint command it passes, so a caller can
measure the stream against the Panda's limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from hvla.core.errors import ConfigError
from hvla.core.messages import Observation
from hvla.core.robot import JointCommand

FAULTS = (
    "none", "camera_dropout", "all_cameras_dropout", "frozen_camera", "stale_camera", "blank_depth", "nan_depth",
    "inf_depth", "nan_proprio", "inf_proprio", "nan_object_pose", "inf_object_pose", "silence",
)


@dataclass(frozen=True)
class Fault:
    kind: str = "none"
    start_s: float = 1.0  # simulated time the fault begins
    camera: str = "wrist"  # the camera a one-camera fault hits
    target: str = "banana"  # the object a pose fault hits
    silence_s: float = 0.25  # silence: how long no command arrives

    def __post_init__(self) -> None:
        if self.kind not in FAULTS:
            raise ConfigError(f"unknown fault '{self.kind}'; known: {list(FAULTS)}")


class FaultyRobot:
    """Implements `Robot` over `robot`, with `fault` injected; `commands` holds every command passed on."""

    def __init__(self, robot, fault: Fault) -> None:
        self.robot = robot
        self.fault = fault
        self.control_dt_s = robot.control_dt_s
        self.limits = robot.limits
        self.commands: list[JointCommand] = []
        self.injected = 0  # observations (or silences) corrupted so far
        self._frozen: dict[str, object] = {}

    def __getattr__(self, name: str):  # the world's own API (truth, model, close, ...) stays reachable
        return getattr(self.robot, name)

    def command(self, cmd: JointCommand) -> None:
        self.commands.append(cmd)
        self.robot.command(cmd)

    def observe(self, cameras: Sequence[str] | None = None) -> Observation:
        obs = self.robot.observe(cameras)
        f = self.fault
        if f.kind == "none" or obs.t_s < f.start_s:
            return obs
        if f.kind == "silence":
            if not self.injected and self.commands:
                self.injected = 1
                self.robot.settle(f.silence_s)  # the arm holds its last setpoint; nobody commands it
                obs = self.robot.observe(cameras)
            return obs
        if f.kind in ("nan_proprio", "inf_proprio"):
            if self.injected:  # one bad reading: a glitch, not a dead encoder
                return obs
            self.injected = 1
            bad = np.nan if f.kind == "nan_proprio" else np.inf
            q = obs.proprio.q_rad.copy()
            q[3] = bad
            object.__setattr__(obs.proprio, "q_rad", q)  # as a driver would hand it over, unchecked
            return obs
        self.injected += 1
        if f.kind in ("nan_object_pose", "inf_object_pose"):
            return self._bad_pose(obs)
        return replace(obs, frames=self._frames(obs))

    def _frames(self, obs: Observation) -> dict:
        f = self.fault
        frames = dict(obs.frames)
        hit = tuple(frames) if f.kind == "all_cameras_dropout" else (f.camera,)
        for name in hit:
            frame = frames.get(name)
            if frame is None:
                continue
            if f.kind in ("camera_dropout", "all_cameras_dropout"):
                del frames[name]
            elif f.kind == "frozen_camera":
                frames[name] = self._frozen.setdefault(name, frame)
            elif f.kind == "stale_camera":
                frames[name] = replace(frame, stamp_s=obs.t_s - 0.5)
            else:
                depth = np.full_like(frame.depth_m, {"blank_depth": 0.0, "nan_depth": np.nan, "inf_depth": np.inf}[
                    f.kind])
                frames[name] = replace(frame, depth_m=depth)
        return frames

    def _bad_pose(self, obs: Observation) -> Observation:
        if obs.truth is None:
            return obs
        bad = np.nan if self.fault.kind == "nan_object_pose" else np.inf
        for o in obs.truth.objects:
            if o.name == self.fault.target:  # as a pose estimator would report it, unchecked
                object.__setattr__(o, "position_m", np.full(3, bad))
        return obs

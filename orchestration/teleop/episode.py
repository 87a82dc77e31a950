"""Teleoperated demonstrations: one episode driven by an operator's keys, recorded as a dataset episode.

A tool on top of the stack, like `rollouts.py`: the operator's keys go through the executor's loop
(oracle scene, success predicate, cartesian controller with its safety limits) and the episode
recorder, so a teleoperated episode has exactly the columns of a scripted demonstration (LeRobot v3,
cameras as mp4) and trains the same policies. The keys are in `hvla.orchestration.teleop.keys`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

from hvla.core.errors import ConfigError
from hvla.core.messages import Plan, Subgoal
from hvla.orchestration.builder import StackConfig, build_executor, build_world
from hvla.orchestration.executor import ExecutorConfig
from hvla.orchestration.monitors import SafetyRefusalMonitor
from hvla.orchestration.teleop.keys import TeleopConfig, TeleopOperator, future_chunks, parse_keys
from hvla.skills.data.lerobot import CHUNK_KEY, EXECUTED_KEY, DatasetWriter
from hvla.skills.data.record import HELD_OUT_OBJECTS, EpisodeRecorder, scene_for

TELEOP_TIMEOUT_S = 180.0  # people are slower than the scripted experts' budgets


def teleop_args(skill: str, obj: str = "", target: str = "") -> dict[str, str]:
    """The subgoal arguments from an operator's form (object, target; wipe: the tool, the counter)."""
    if skill == "wipe":
        return {"tool": obj or "sponge", "region": "counter"}
    return {k: v for k, v in (("object", obj), ("target", target)) if v}


def teleop_subgoal(skill: str, args: dict[str, str]) -> Subgoal:
    needed = {"pick": ("object",), "place": ("object", "target"), "pick_place": ("object", "target"),
              "wipe": ("tool", "region")}
    if skill not in needed:
        raise ConfigError(f"cannot teleoperate skill '{skill}'; known: {sorted(needed)}")
    missing = [role for role in needed[skill] if role not in args]
    if missing:
        raise ConfigError(f"{skill} needs {', '.join(missing)} (e.g. --object banana --target bowl)")
    held_out = sorted(set(args.values()) & set(HELD_OUT_OBJECTS))
    if held_out:
        raise ConfigError(f"{held_out} is held out of every training set (the generalisation test)")
    return Subgoal("s0", skill, args, timeout_s=TELEOP_TIMEOUT_S)


class TeleopEpisode:
    """A kitchen, the subgoal the operator demonstrates, and the recorder that keeps every tick."""

    def __init__(self, seed: int, subgoal: Subgoal, cameras: tuple[str, ...] = (),
                 config: TeleopConfig | None = None) -> None:
        objects = tuple(v for k, v in subgoal.args.items() if k in ("object", "target", "tool"))
        self.seed, self.subgoal, self.cameras, self.config = seed, subgoal, cameras, config or TeleopConfig()
        self.stack = StackConfig(perception="oracle",
                                 executor=ExecutorConfig(retries=0, replans=0, log_cameras=cameras))
        self.world = build_world(seed, self.stack, scene_for(objects, 0))
        self.oracle = self.stack.build("perception")
        self.uid = f"teleop-{subgoal.skill}-{'-'.join(subgoal.args.values())}-s{seed:06d}"

    def status(self) -> str:
        """One line for the operator: where the hand is, the gripper, and the named objects relative to it."""
        obs = self.world.observe(())
        scene = self.oracle.perceive(obs)
        hand = obs.proprio.T_world_ee[:3, 3]
        gripper_cm = obs.proprio.gripper_m * 100
        parts = [f"hand ({hand[0]:+.2f}, {hand[1]:+.2f}, {hand[2]:.2f}) m, gripper {gripper_cm:.1f} cm"]
        for role, name in self.subgoal.args.items():
            tok = scene.find(name)
            if tok is not None:
                d = np.asarray(tok.position_m) - hand
                parts.append(f"{role} {name} at dx {d[0] * 100:+.0f} dy {d[1] * 100:+.0f} dz {d[2] * 100:+.0f} cm")
        return "; ".join(parts)

    def run(self, keys: Iterable[str], root: Path, on_tick: Callable[[], None] | None = None) -> dict:
        """Drive the episode with `keys` and stage + commit it into the dataset `root`.

        Returns the uid, success, frames and the failure reason (the operator stopped, the time ran out).
        """
        writer = DatasetWriter(root, cameras=self.cameras)
        if self.uid in writer.done_uids():  # before the operator's work, not after
            raise ConfigError(f"{root} already holds {self.uid}; pick another --seed")
        operator = TeleopOperator(_ticking(keys, on_tick), self.config)
        recorder = EpisodeRecorder(operator, [self.subgoal], [self.subgoal.id], self.cameras)
        executor = build_executor(self.world, self.stack, recorder, perception=self.oracle, policy=operator,
                                  planner=None, monitors=[SafetyRefusalMonitor()])
        result = executor.run_plan(Plan.sequence([self.subgoal], f"teleop {self.subgoal.describe()}"))
        outcome = result.subgoals[0]
        meta = {"seed": self.seed, "source": "teleop", "noise_m": 0.0, "disturbance": "none",
                "n_objects": len(self.world.layout.objects), "n_distractors": 0,
                "sim_time_s": round(result.sim_time_s, 2), "lead_in": ""}
        with tempfile.TemporaryDirectory() as tmp:
            outcomes = {outcome.id: (outcome.outcome == "succeeded", outcome.reason)}
            episodes = recorder.episodes(self.uid, outcomes, meta, Path(tmp))
            for episode in episodes:
                episode.columns[CHUNK_KEY] = future_chunks(episode.columns[EXECUTED_KEY])
                writer.stage(episode)
            writer.finalise()
        self.world.close()
        frames = sum(e.length for e in episodes)
        return {"uid": self.uid, "success": outcome.outcome == "succeeded", "frames": frames, "reason": outcome.reason}


def _ticking(keys: Iterator[str], on_tick: Callable[[], None] | None) -> Iterator[str]:
    """`keys`, calling `on_tick` each time the executor asks for the next one: after the previous tick ran
    and before waiting for the operator, so a display shows where the last key took the hand."""
    keys = iter(keys)
    while True:
        if on_tick is not None:
            on_tick()
        try:
            key = next(keys)
        except StopIteration:
            return
        yield key


def terminal_keys(prompt: Callable[[], str], read: Callable[[str], str] = input) -> Iterator[str]:
    """Keys typed line by line (each key one tick; an empty line holds one tick); `x` ends the episode."""
    while True:
        try:
            line = read(prompt() + "\nkeys> ")
        except EOFError:
            return
        if line.strip().lower() == "x":
            return
        try:
            keys = parse_keys(line) or ["."]
        except ConfigError as exc:
            print(f"error: {exc}")
            continue
        yield from keys

"""Writes one episode log as it runs: every file but events.jsonl atomically, events fsynced per line.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hvla.core.errors import DatasetError, MessageError
from hvla.core.files import atomic_write_bytes
from hvla.core.messages import (
    ActionChunk,
    Observation,
    Plan,
    Scene,
)
from hvla.core.owner import Owner
from hvla.core.robot import JointCommand
from hvla.orchestration.episode_log.schema import (
    COMPLETE,
    FORMAT_VERSION,
    IMAGE_FORMATS,
    INCOMPLETE,
    RUNNING,
    _dumps,
    _npz_bytes,
    _observation_arrays,
    _scene_arrays,
)
from hvla.orchestration.events import Event


def default_episode_id(seed: int | None = None) -> str:
    """`20261125-053000-seed3-ab12`: UTC start time, seed, 4 random hex digits against collisions."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    seed_part = f"-seed{seed}" if seed is not None else ""
    return f"{stamp}{seed_part}-{secrets.token_hex(2)}"


class EpisodeWriter:
    """Streams one episode to `root/<episode_id>/`. Use as a context manager:

        with EpisodeWriter(root, meta={"seed": 3, "instruction": text}) as log:
            events.subscribe(log.write_event)
            log.write_plan(plan)
            for each 10 Hz step: log.write_step(obs, scene, chunk, commands_sent_this_step, subgoal.id)
            log.finish(success, failure, subgoal_results, final_observation=robot.observe(()))

    Leaving the block by an exception (KeyboardInterrupt included) marks the episode "incomplete" with
    the exception's text and re-raises; leaving it without `finish()` marks it incomplete too.
    """

    def __init__(
        self,
        root: Path | str,
        episode_id: str | None = None,
        meta: Mapping[str, Any] | None = None,
        *,
        image_format: str = "png",
        jpeg_quality: int = 90,
        durable: bool = True,
    ) -> None:
        if image_format not in IMAGE_FORMATS:
            raise MessageError(f"image_format {image_format!r}; known: {list(IMAGE_FORMATS)}")
        self.meta = dict(meta or {})
        self.image_format = image_format
        self.jpeg_quality = int(jpeg_quality)
        self.durable = durable  # fsync every file; off only for throwaway logs
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.episode_id, self.path = self._make_folder(episode_id)
        self.steps_dir = self.path / "steps"
        self.steps_dir.mkdir()
        self.n_steps = 0
        self.state = RUNNING
        self._owner = Owner.current()
        self._plans: list[dict[str, Any]] = []
        self._t0_wall_s = time.time()
        meta_json = {
            **self.meta,
            "episode_id": self.episode_id,
            "format": FORMAT_VERSION,
            "created_wall_s": self._t0_wall_s,
            "image_format": image_format,
        }
        self._write("meta.json", _dumps(meta_json, "meta"))
        self._write_status(RUNNING)
        self._events = open(self.path / "events.jsonl", "a", encoding="utf-8")  # noqa: SIM115 (closed in _close)

    def _make_folder(self, episode_id: str | None) -> tuple[str, Path]:
        if episode_id is not None:
            if not episode_id or "/" in episode_id or episode_id.startswith("."):
                raise MessageError(f"episode_id {episode_id!r} must be a plain folder name")
            path = self.root / episode_id
            try:
                path.mkdir()
            except FileExistsError:
                raise DatasetError(f"episode folder {path} exists; episode logs are never overwritten") from None
            return episode_id, path
        for _ in range(16):
            eid = default_episode_id(self.meta.get("seed"))
            try:
                (self.root / eid).mkdir()
                return eid, self.root / eid
            except FileExistsError:
                continue
        raise DatasetError(f"could not find a free episode id under {self.root}")

    # --- streams --------------------------------------------------------------------------------
    def write_event(self, event: Event) -> None:
        """Append one event line, flushed and fsynced. Has the listener signature of `EventLog`."""
        self._check_open()
        self._events.write(json.dumps(event.to_json()) + "\n")
        self._events.flush()
        if self.durable:
            os.fsync(self._events.fileno())

    def write_plan(self, plan: Plan | Mapping[str, Any]) -> None:
        """Record the current plan (call again after each re-plan; every version is kept)."""
        self._check_open()
        data = plan.to_json() if isinstance(plan, Plan) else dict(plan)
        self._plans.append(data)
        self._write("plans.json", _dumps(self._plans, "plans"))
        self._write("plan.json", _dumps(data, "plan"))

    def write_step(
        self,
        observation: Observation,
        scene: Scene | None = None,
        chunk: ActionChunk | None = None,
        commands: Sequence[JointCommand] = (),
        subgoal_id: str | None = None,
    ) -> int:
        """Log one 10 Hz step and return its index.

        `observation` is what the step started from, `scene` what perception made of it, `chunk` what the
        skill emitted (None when none was issued) and `commands` every joint command sent to the robot
        during the step, in order (wrap the robot to collect them).
        """
        self._check_open()
        header, arrays = _observation_arrays(observation, self.image_format, self.jpeg_quality)
        header.update(index=self.n_steps, subgoal_id=subgoal_id, scene=None, chunk=None)
        if scene is not None:
            header["scene"], scene_arrays = _scene_arrays(scene)
            arrays.update(scene_arrays)
        if chunk is not None:
            header["chunk"] = {"confidence": chunk.confidence, "dt_s": chunk.dt_s}
            arrays["chunk.ee_targets"] = chunk.ee_targets
            arrays["chunk.gripper_m"] = chunk.gripper_m
        arrays["cmd.q_rad"] = np.array([c.q_rad for c in commands], dtype=np.float64).reshape(-1, 7)
        arrays["cmd.dq_radps"] = np.array([c.dq_radps for c in commands], dtype=np.float64).reshape(-1, 7)
        arrays["cmd.gripper_m"] = np.array([c.gripper_m for c in commands], dtype=np.float64)
        self._write(f"steps/{self.n_steps:06d}.npz", _npz_bytes(header, arrays))
        self.n_steps += 1
        return self.n_steps - 1

    # --- endings --------------------------------------------------------------------------------
    def finish(
        self,
        success: bool,
        failure: str | None = None,
        subgoals: Mapping[str, Any] | Sequence[Any] | None = None,
        final_observation: Observation | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write the outcome, mark the episode complete and return its folder. Nothing can be written afterwards.

        `subgoals` holds the per-subgoal results, JSON-able (e.g. {"s1": {"outcome": "succeeded", "duration_s":
        4.2}} or a list of such records). `extra` adds keys to outcome.json (sim_time_s, the CLI report, ...);
        the keys written here win over it. `final_observation` (proprio only is kept) is what `replay`
        compares against.
        """
        self._check_open()
        if final_observation is not None:
            header, arrays = _observation_arrays(
                Observation(final_observation.t_s, final_observation.proprio), self.image_format, self.jpeg_quality
            )
            self._write("final.npz", _npz_bytes(header, arrays))
        outcome = {
            **dict(extra or {}),
            "success": bool(success),
            "failure": failure,
            "subgoals": (dict(subgoals) if isinstance(subgoals, Mapping) else list(subgoals)) if subgoals else {},
            "n_steps": self.n_steps,
            "log_wall_time_s": time.time() - self._t0_wall_s,
        }
        self._write("outcome.json", _dumps(outcome, "outcome"))
        self._close(COMPLETE)
        return self.path

    def abort(self, reason: str | BaseException) -> None:
        """Mark the episode incomplete with `reason` (text or the exception that ended it); no-op once closed."""
        if isinstance(reason, BaseException):
            reason = f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__
        if self.state == RUNNING:
            self._close(INCOMPLETE, reason)

    def __enter__(self) -> EpisodeWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is not None:
            self.abort(exc)
        else:
            self.abort("the writer was closed without finish()")

    # --- helpers --------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.state != RUNNING:
            raise DatasetError(f"episode {self.episode_id} is {self.state}; nothing more can be written")

    def _write(self, relpath: str, data: bytes) -> None:
        atomic_write_bytes(self.path / relpath, data, self.durable)

    def _write_status(self, state: str, error: str | None = None) -> None:
        status = {"state": state, "error": error, "wall_s": time.time(), "owner": self._owner.to_json()}
        self._write("status.json", _dumps(status, "status"))

    def _close(self, state: str, error: str | None = None) -> None:
        self.state = state
        try:
            self._events.close()
        finally:
            self._write_status(state, error)

    def __repr__(self) -> str:
        return f"EpisodeWriter({self.path}, {self.state}, {self.n_steps} steps)"

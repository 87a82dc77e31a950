"""Episode logs: one folder per episode, written so that a crash never leaves a file half-written.

Layout of `root/<episode_id>/`:

    meta.json       what the caller passed (seed, instruction, implementations, ...) + episode_id
    status.json     {"state": "running" | "complete" | "incomplete", "error": str | null, "owner": pid/host}
    plan.json       the latest Plan.to_json();  plans.json: every plan of the episode, in order
    events.jsonl    one Event.to_json() per line, flushed and fsynced per event
    steps/NNNNNN.npz  one file per 10 Hz step: observation, tokens, action chunk, joint commands
    final.npz       proprio after the last step's commands (written by finish)
    outcome.json    success, failure, per-subgoal results (written by finish)

Every file except events.jsonl is written to a temporary name in the same folder and renamed into
place (`os.replace` is atomic on POSIX), so a reader sees either the old file or the new one. A process
that dies (exception, Ctrl-C, SIGKILL) leaves `status.json` at "running" or "incomplete": the loader
reports such an episode as `incomplete=True` and still reads every step that was written.

A killed writer cannot write its own ending, so "running" on disk is only a claim: status.json names the
writer (pid, host, process start time) and the reader reports "interrupted" once that process is gone.
A log from another host (or from before the owner was recorded) is judged by its last write instead:
quiet for `STALE_S`, it is interrupted.

Step files are `.npz` without pickles. Images are PNG (lossless) or JPEG bytes, depth is float16
(about 1 mm resolution at 1 m), everything else float64. Object masks and features are not logged.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import time
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imageio.v3 as iio
import numpy as np
from numpy.typing import NDArray

from hvla.core.errors import DatasetError, MessageError
from hvla.core.files import atomic_write_bytes
from hvla.core.messages import (
    ActionChunk,
    CameraFrame,
    CameraInfo,
    ObjectToken,
    Observation,
    Plan,
    Proprio,
    Scene,
)
from hvla.core.owner import Owner
from hvla.core.robot import JointCommand
from hvla.orchestration.events import Event

FORMAT_VERSION = 1
RUNNING, COMPLETE, INCOMPLETE = "running", "complete", "incomplete"
INTERRUPTED = "interrupted"  # never on disk: a "running" log whose writer is gone, as the reader sees it
STALE_S = 600.0  # a "running" log whose owner cannot be checked and that was not written for this long
IMAGE_FORMATS = ("png", "jpeg")
_EXT = {"png": ".png", "jpeg": ".jpg"}
# What np.load and zipfile raise on a truncated or garbled .npz.
_BAD_NPZ = (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile)


class IncompleteEpisodeWarning(UserWarning):
    """A step or event at the end of an episode log was cut off and skipped."""


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _dumps(obj: Any, what: str) -> bytes:
    try:
        return json.dumps(obj, default=_json_default, allow_nan=False, indent=1).encode()
    except (TypeError, ValueError) as err:
        raise MessageError(f"{what} is not JSON-serialisable: {err}") from err


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path}: unreadable JSON ({err})") from err


# --- step encoding --------------------------------------------------------------------------------
def _encode_image(rgb: NDArray[np.uint8], fmt: str, jpeg_quality: int) -> NDArray[np.uint8]:
    kwargs = {"quality": jpeg_quality} if fmt == "jpeg" else {}
    data = iio.imwrite("<bytes>", np.ascontiguousarray(rgb), extension=_EXT[fmt], **kwargs)
    return np.frombuffer(data, dtype=np.uint8)


def _decode_image(data: NDArray[np.uint8], fmt: str) -> NDArray[np.uint8]:
    return np.asarray(iio.imread(data.tobytes(), extension=_EXT[fmt]), dtype=np.uint8)


def _observation_arrays(obs: Observation, fmt: str, jpeg_quality: int) -> tuple[dict[str, Any], dict[str, NDArray]]:
    """(JSON header, arrays) of one observation; `WorldTruth` is not logged."""
    p = obs.proprio
    arrays: dict[str, NDArray] = {
        "q_rad": p.q_rad,
        "dq_radps": p.dq_radps,
        "gripper_m": np.float64(p.gripper_m),
        "T_world_ee": p.T_world_ee,
    }
    cameras = []
    for name, frame in obs.frames.items():
        info = frame.info
        cameras.append(
            {
                "name": name,
                "width": info.width,
                "height": info.height,
                "encoding": fmt,
                "segmentation": frame.segmentation is not None,
            }
        )
        arrays[f"rgb.{name}"] = _encode_image(frame.rgb, fmt, jpeg_quality)
        arrays[f"depth.{name}"] = frame.depth_m.astype(np.float16)
        arrays[f"K.{name}"] = info.K
        arrays[f"T_world_cam.{name}"] = info.T_world_cam
        if frame.segmentation is not None:
            arrays[f"seg.{name}"] = np.asarray(frame.segmentation, dtype=np.int32)
    return {"t_s": obs.t_s, "cameras": cameras}, arrays


def _scene_arrays(scene: Scene) -> tuple[dict[str, Any], dict[str, NDArray]]:
    toks = scene.tokens
    header = {
        "flags": list(scene.flags),
        "label": [t.label for t in toks],
        "name": [t.name for t in toks],
        "color_name": [t.color_name for t in toks],
        "category": [t.category for t in toks],
    }
    arrays = {
        "tok.track_id": np.array([t.track_id for t in toks], dtype=np.int64),
        "tok.score": np.array([t.score for t in toks], dtype=np.float64),
        "tok.position_m": np.array([t.position_m for t in toks], dtype=np.float64).reshape(-1, 3),
        "tok.extent_m": np.array([t.extent_m for t in toks], dtype=np.float64).reshape(-1, 3),
        "tok.color_rgb": np.array([t.color_rgb for t in toks], dtype=np.float64).reshape(-1, 3),
        "tok.yaw_rad": np.array([t.yaw_rad for t in toks], dtype=np.float64),
    }
    return header, arrays


def _npz_bytes(header: Mapping[str, Any], arrays: Mapping[str, NDArray]) -> bytes:
    buf = io.BytesIO()
    head = np.frombuffer(_dumps(header, "step header"), dtype=np.uint8)
    np.savez_compressed(buf, header=head, **arrays)
    return buf.getvalue()


# --- records --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepRecord:
    """One logged 10 Hz step: what was observed, perceived and commanded."""

    index: int
    t_s: float  # observation time [s]
    subgoal_id: str | None
    observation: Observation  # frames are empty when loaded with images=False; truth is never logged
    scene: Scene | None  # tokens without masks or features
    chunk: ActionChunk | None
    command_q_rad: NDArray[np.float64]  # (n, 7) joint setpoints executed during this step
    command_dq_radps: NDArray[np.float64]  # (n, 7) their feed-forward velocities
    command_gripper_m: NDArray[np.float64]  # (n,)
    path: Path

    def commands(self) -> list[JointCommand]:
        return [
            JointCommand(q, dq, float(g))
            for q, dq, g in zip(self.command_q_rad, self.command_dq_radps, self.command_gripper_m)
        ]


@dataclass(frozen=True)
class Episode:
    """An episode folder loaded back. `incomplete` is True unless `finish()` ran and every file is whole."""

    path: Path
    meta: dict[str, Any]
    plan: dict[str, Any] | None  # the latest plan
    plans: list[dict[str, Any]]  # every plan, the first one and each re-plan
    events: list[Event]
    steps: list[StepRecord]
    outcome: dict[str, Any] | None
    incomplete: bool
    state: str  # "running" (its writer lives), "interrupted" (it died without a word), "complete" or "incomplete"
    error: str | None = None  # why the writer stopped, when it could say (or, interrupted, who died)
    final_proprio: Proprio | None = None  # after the last step's commands
    final_t_s: float | None = None

    @property
    def episode_id(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class EpisodeSummary:
    """What `list_episodes` reads without opening any step file."""

    path: Path
    episode_id: str
    state: str
    success: bool | None
    n_steps: int
    meta: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


# --- writer ---------------------------------------------------------------------------------------
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


# --- reader ---------------------------------------------------------------------------------------
def _load_npz(path: Path) -> tuple[dict[str, Any], dict[str, NDArray]]:
    # np.load leaks its file handle when the zip is damaged, so the file is opened here.
    with open(path, "rb") as f, np.load(f, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(arrays.pop("header").tobytes())
    return header, arrays


def _observation_from(header: Mapping[str, Any], arrays: Mapping[str, NDArray], images: bool) -> Observation:
    proprio = Proprio(arrays["q_rad"], arrays["dq_radps"], float(arrays["gripper_m"]), arrays["T_world_ee"])
    frames: dict[str, CameraFrame] = {}
    for cam in header["cameras"] if images else ():
        name = cam["name"]
        info = CameraInfo(name, arrays[f"K.{name}"], arrays[f"T_world_cam.{name}"], cam["width"], cam["height"])
        seg = arrays[f"seg.{name}"] if cam["segmentation"] else None
        rgb = _decode_image(arrays[f"rgb.{name}"], cam["encoding"])
        frames[name] = CameraFrame(info, rgb, arrays[f"depth.{name}"].astype(np.float32), seg)
    return Observation(float(header["t_s"]), proprio, frames)


def _scene_from(header: Mapping[str, Any], arrays: Mapping[str, NDArray], obs: Observation) -> Scene:
    tokens = tuple(
        ObjectToken(
            track_id=int(arrays["tok.track_id"][i]),
            label=label,
            score=float(arrays["tok.score"][i]),
            position_m=arrays["tok.position_m"][i],
            extent_m=arrays["tok.extent_m"][i],
            color_name=header["color_name"][i],
            color_rgb=arrays["tok.color_rgb"][i],
            yaw_rad=float(arrays["tok.yaw_rad"][i]),
            category=header["category"][i],
            name=header["name"][i],
        )
        for i, label in enumerate(header["label"])
    )
    return Scene(tokens, obs, tuple(header["flags"]))


def _step_from(path: Path, images: bool) -> StepRecord:
    header, arrays = _load_npz(path)
    obs = _observation_from(header, arrays, images)
    scene = _scene_from(header["scene"], arrays, obs) if header["scene"] is not None else None
    chunk = None
    if header["chunk"] is not None:
        c = header["chunk"]
        chunk = ActionChunk(arrays["chunk.ee_targets"], arrays["chunk.gripper_m"], c["confidence"], c["dt_s"])
    return StepRecord(
        index=int(header["index"]),
        t_s=obs.t_s,
        subgoal_id=header["subgoal_id"],
        observation=obs,
        scene=scene,
        chunk=chunk,
        command_q_rad=arrays["cmd.q_rad"],
        command_dq_radps=arrays["cmd.dq_radps"],
        command_gripper_m=arrays["cmd.gripper_m"],
        path=path,
    )


def step_files(path: Path | str) -> list[Path]:
    """The step files of an episode folder in order; temporary files of an interrupted write are ignored."""
    return sorted(p for p in (Path(path) / "steps").glob("*.npz") if not p.name.startswith("."))


def _load_steps(path: Path, images: bool) -> tuple[list[StepRecord], bool]:
    """(steps, truncated): a damaged last file is skipped with a warning, a damaged earlier one raises."""
    files = step_files(path)
    steps = []
    for i, f in enumerate(files):
        try:
            steps.append(_step_from(f, images))
        except (*_BAD_NPZ, MessageError) as err:
            if i < len(files) - 1:
                raise DatasetError(f"{f}: damaged step file in the middle of the episode ({err!r})") from err
            warnings.warn(f"{f}: truncated last step skipped ({err!r})", IncompleteEpisodeWarning, stacklevel=3)
            return steps, True
    return steps, False


def _load_events(path: Path) -> tuple[list[Event], bool]:
    """(events, truncated): a cut-off last line (the process died mid-write) is skipped with a warning."""
    file = path / "events.jsonl"
    if not file.exists():
        return [], False
    lines = file.read_text(encoding="utf-8").splitlines()
    events = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            events.append(Event.from_json(json.loads(line)))
        except (ValueError, MessageError) as err:
            if i < len(lines) - 1:
                raise DatasetError(f"{file}:{i + 1}: damaged event line ({err!r})") from err
            warnings.warn(f"{file}: truncated last event skipped", IncompleteEpisodeWarning, stacklevel=3)
            return events, True
    return events, False


def last_write_wall_s(path: Path | str) -> float:
    """When the episode was last written: its status, its events or its steps folder (a new step renames a
    file into it), whichever is newest. At 10 Hz this is the writer's heartbeat."""
    path = Path(path)
    times = [p.stat().st_mtime for p in (path / "status.json", path / "events.jsonl", path / "steps") if p.exists()]
    return max(times, default=(path / "meta.json").stat().st_mtime)


def reported_state(path: Path | str, status: Mapping[str, Any]) -> tuple[str, str | None]:
    """(state, error) of an episode folder from its status.json: "running" turns "interrupted" once the
    writer is known to be gone (or, when it cannot be asked, after `STALE_S` without a write)."""
    state = status.get("state", RUNNING)
    if state != RUNNING:
        return state, status.get("error")
    owner = Owner.from_json(status.get("owner"))
    alive = owner.alive() if owner is not None else None
    if alive:
        return RUNNING, None
    last = last_write_wall_s(path)
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(last))
    if alive is False:
        return INTERRUPTED, f"its writer ({owner.describe()}) died without finishing; last write {when}"
    quiet_s = time.time() - last
    if quiet_s <= STALE_S:
        return RUNNING, None
    who = f"its writer ({owner.describe()}) is on another host" if owner is not None else "no writer recorded"
    return INTERRUPTED, f"not finished and not written for {quiet_s:.0f} s (last write {when}; {who})"


def load_episode(path: Path | str, images: bool = True) -> Episode:
    """Read an episode folder back, complete or not. `images=False` skips decoding camera frames.

    Raises:
        DatasetError: when `path` is not an episode folder or a file other than the last step is damaged.
    """
    path = Path(path)
    if not (path / "meta.json").is_file():
        raise DatasetError(f"{path} is not an episode folder (no meta.json)")
    meta = _read_json(path / "meta.json")
    status = _read_json(path / "status.json") if (path / "status.json").exists() else {"state": RUNNING}
    plans = _read_json(path / "plans.json") if (path / "plans.json").exists() else []
    plan = _read_json(path / "plan.json") if (path / "plan.json").exists() else None
    outcome = _read_json(path / "outcome.json") if (path / "outcome.json").exists() else None
    events, events_cut = _load_events(path)
    steps, steps_cut = _load_steps(path, images)
    final_proprio = final_t_s = None
    if (path / "final.npz").exists():
        try:
            header, arrays = _load_npz(path / "final.npz")
            final = _observation_from(header, arrays, images=False)
            final_proprio, final_t_s = final.proprio, final.t_s
        except _BAD_NPZ as err:
            raise DatasetError(f"{path / 'final.npz'}: damaged ({err!r})") from err
    state, error = reported_state(path, status)
    return Episode(
        path=path,
        meta=meta,
        plan=plan,
        plans=plans,
        events=events,
        steps=steps,
        outcome=outcome,
        incomplete=state != COMPLETE or events_cut or steps_cut,
        state=state,
        error=error,
        final_proprio=final_proprio,
        final_t_s=final_t_s,
    )


def list_episodes(root: Path | str) -> list[EpisodeSummary]:
    """Every episode folder under `root`, oldest first (ids start with the UTC time), without loading steps."""
    root = Path(root)
    if not root.is_dir():
        return []
    out = []
    for path in sorted(p for p in root.iterdir() if (p / "meta.json").is_file()):
        status = _read_json(path / "status.json") if (path / "status.json").exists() else {}
        outcome = _read_json(path / "outcome.json") if (path / "outcome.json").exists() else None
        state, error = reported_state(path, status)
        out.append(
            EpisodeSummary(
                path=path,
                episode_id=path.name,
                state=state,
                success=None if outcome is None else bool(outcome.get("success")),
                n_steps=len(step_files(path)),
                meta=_read_json(path / "meta.json"),
                error=error,
            )
        )
    return out


def iter_step_images(episode: Episode, camera: str) -> Iterator[NDArray[np.uint8]]:
    """The RGB images of `camera`, one per logged step, decoded from disk one at a time."""
    for step in episode.steps:
        with open(step.path, "rb") as f, np.load(f, allow_pickle=False) as npz:
            cams = {c["name"]: c for c in json.loads(npz["header"].tobytes())["cameras"]}
            if camera not in cams:
                raise DatasetError(f"{step.path}: no camera {camera!r}; logged: {sorted(cams)}")
            data = npz[f"rgb.{camera}"]
        yield _decode_image(data, cams[camera]["encoding"])

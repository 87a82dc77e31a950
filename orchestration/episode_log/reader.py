"""Reads episode logs back, complete, interrupted or cut off mid-file, and lists a root of them.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hvla.core.errors import DatasetError, MessageError
from hvla.core.messages import (
    ActionChunk,
    CameraFrame,
    CameraInfo,
    ObjectToken,
    Observation,
    Proprio,
    Scene,
)
from hvla.orchestration.episode_log.recovery import reported_state
from hvla.orchestration.episode_log.schema import (
    _BAD_NPZ,
    COMPLETE,
    RUNNING,
    Episode,
    EpisodeSummary,
    IncompleteEpisodeWarning,
    StepRecord,
    _decode_image,
    _read_json,
)
from hvla.orchestration.events import Event


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

"""Demonstrations from the scripted experts: noisy execution, clean labels, every episode kept.

The expert's chunk is the label of every frame (`label.chunk`). What the robot executes
(`executed.chunk`, its first waypoint the frame's `action`) is that chunk shifted by an occasional
perturbation (a few centimetres, for a fraction of a second), so the arm drifts off the expert's
path and the following frames show the expert bringing it back: recovery data, the DART recipe.
A perturbation during a grasp can make it miss; the expert then re-grasps, and if the episode still
fails it is kept with `hvla/success = false` (filter it out or weight it down at training time; the
quality report counts it).
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from hvla.core.errors import ConfigError, DatasetError, MessageError
from hvla.core.messages import ActionChunk, Observation, Proprio, Scene, Subgoal
from hvla.sim.scene import SceneConfig
from hvla.skills.data import schema
from hvla.skills.data.lerobot import CHUNK_KEY, EXECUTED_KEY, IMAGE_PREFIX, EpisodeRecord, staging
from hvla.skills.scripted.experts import KITCHEN_GRASP, GraspConfig, PhaseExpert
from hvla.skills.scripted.policy import expert_for

# The learned policy's training distribution: mango never appears (it is the held-out object).
HELD_OUT_OBJECTS = ("mango",)
PICK_OBJECTS = ("banana", "apple", "lemon", "sponge")
PLACE_OBJECTS = ("banana", "apple", "lemon")
PLACE_TARGETS = ("bowl", "plate")
SKILLS = ("pick", "pick_place", "place", "wipe")
MIN_Z_M = 0.012  # executed waypoints never dip below this (the fingertips would hit the table)
PERCEIVED_SUFFIX = "-perceived"  # uid of the perceived-token twin of an episode


@dataclass(frozen=True)
class NoiseConfig:
    """Perturbations of the executed chunk; labels stay the expert's."""

    p_start: float = 0.06  # per step, probability that a perturbation starts
    offset_m: tuple[float, float] = (0.01, 0.04)  # size of the offset added to every waypoint
    duration_s: tuple[float, float] = (0.3, 1.0)
    recovery_s: float = 1.0  # frames this long after a perturbation are flagged `is_recovery`
    clean_fraction: float = 0.25  # episodes recorded without any perturbation

    def __post_init__(self) -> None:
        if not (0 <= self.p_start <= 1 and 0 <= self.clean_fraction <= 1):
            raise ConfigError("p_start and clean_fraction must be probabilities")
        if not 0 <= self.offset_m[0] <= self.offset_m[1]:
            raise ConfigError(f"offset_m {self.offset_m} must be an increasing pair of lengths")


class LabellingPolicy(Protocol):
    """A policy that also says what the expert would have done at the last `act` (the label)."""

    label: ActionChunk | None
    label_kind: str  # schema.LABELS_PHASE or LABELS_AHEAD
    phase_index: int
    noise_active: bool
    recovering: bool

    def reset(self, scene: Scene, subgoal: Subgoal) -> None: ...

    def act(self, scene: Scene, proprio: Proprio) -> ActionChunk: ...


class NoisyExpert:
    """The scripted expert, executed with injected perturbations; `label` is its clean chunk."""

    def __init__(self, noise: NoiseConfig | None, seed: int, grasp: GraspConfig = KITCHEN_GRASP,
                 speed_scale: float = 1.0) -> None:
        self.noise = noise
        self.grasp = grasp  # the world's gripper geometry (`ScriptedSkillsConfig`, filled in by the builder)
        self.speed_scale = speed_scale
        self.rng = np.random.default_rng([seed, 7])
        self.expert: PhaseExpert | None = None
        self.label: ActionChunk | None = None
        self.label_kind = schema.LABELS_PHASE
        self.phase_index = 0
        self.noise_active = False
        self.recovering = False
        self._offset = np.zeros(3)
        self._noise_left_s = 0.0
        self._since_noise_s = np.inf
        self._enabled = False

    def reset(self, scene: Scene, subgoal: Subgoal) -> None:
        self.expert = expert_for(subgoal, self.grasp, scene, self.speed_scale)
        self._enabled = self.noise is not None and self.rng.random() >= self.noise.clean_fraction
        self._noise_left_s, self._since_noise_s = 0.0, np.inf

    def act(self, scene: Scene, proprio: Proprio) -> ActionChunk:
        if self.expert is None:
            raise MessageError("NoisyExpert.act called before reset")
        self.label = self.expert.act(scene, proprio)
        self.phase_index = self.expert.index
        executed = self._perturb(self.label)
        return executed

    def _perturb(self, chunk: ActionChunk) -> ActionChunk:
        dt = chunk.dt_s
        noise = self.noise
        if self._noise_left_s <= 0 and self._enabled and noise is not None and self.rng.random() < noise.p_start:
            direction = self.rng.normal(size=3) * np.array([1.0, 1.0, 0.5])
            self._offset = direction / np.linalg.norm(direction) * self.rng.uniform(*noise.offset_m)
            self._noise_left_s = self.rng.uniform(*noise.duration_s)
        self.noise_active = self._noise_left_s > 0
        if self.noise_active:
            self._noise_left_s -= dt
            self._since_noise_s = 0.0
        else:
            self._since_noise_s += dt
        recovery_s = noise.recovery_s if noise is not None else 0.0
        self.recovering = not self.noise_active and self._since_noise_s <= recovery_s
        if not self.noise_active:
            return chunk
        targets = chunk.ee_targets.copy()
        targets[:, :3] += self._offset
        targets[:, 2] = np.maximum(targets[:, 2], MIN_Z_M)
        return ActionChunk(targets, chunk.gripper_m, chunk.confidence, chunk.dt_s)


@dataclass
class _Buffer:
    subgoal: Subgoal
    slots: schema.SlotMap
    rows: dict[str, list] = field(default_factory=dict)
    images: dict[str, list[NDArray[np.uint8]]] = field(default_factory=dict)

    def add(self, name: str, value: Any) -> None:
        self.rows.setdefault(name, []).append(value)


class TokenSource(Protocol):
    """A second perception run on the same frames (e.g. the learned detector next to the oracle)."""

    def perceive(self, obs: Observation) -> Scene: ...


class EpisodeRecorder:
    """A `StepRecorder` for the executor: one dataset episode per recorded subgoal.

    `policy` supplies the label of each step (the expert's chunk); the executed chunk comes from
    the executor. Subgoals not in `record_ids` (set-up steps) are executed but not recorded.

    With `perceived`, every step is also perceived by that front end (on every step, set-up steps
    included, so its tracker is as warm as in the loop), and each recorded subgoal yields a second
    episode `<uid>-perceived`: the same states and expert labels, the perceived tokens as
    observation. A policy trained on both learns to act right from the tokens it will really get.
    """

    def __init__(self, policy: LabellingPolicy, subgoals: Sequence[Subgoal], record_ids: Sequence[str],
                 cameras: Sequence[str] = (), perceived: TokenSource | None = None, tokens: str = "oracle") -> None:
        self.policy = policy
        self.tokens = tokens  # what the executor's scene is: "oracle" (truth) or "perceived" (a roll-out on yolo)
        self.subgoals = {sg.id: sg for sg in subgoals}
        self.record_ids = set(record_ids)
        self.cameras = tuple(cameras)
        self.perceived = perceived
        self.buffers: dict[str, _Buffer] = {}
        self.perceived_buffers: dict[str, _Buffer] = {}

    def write_step(self, obs: Observation, scene: Scene, chunk: ActionChunk, commands: Sequence[Any],
                   subgoal_id: str) -> None:
        seen = self.perceived.perceive(obs) if self.perceived is not None else None
        if subgoal_id not in self.record_ids or self.policy.label is None:
            return
        if seen is not None:
            pbuf = self.perceived_buffers.get(subgoal_id)
            if pbuf is None:
                pbuf = self.perceived_buffers[subgoal_id] = _Buffer(self.subgoals[subgoal_id], schema.SlotMap())
            self._add_step(pbuf, obs, seen, chunk)
        buf = self.buffers.get(subgoal_id)
        if buf is None:
            buf = self.buffers[subgoal_id] = _Buffer(self.subgoals[subgoal_id], schema.SlotMap())
        self._add_step(buf, obs, scene, chunk)
        for cam in self.cameras:
            for b in (buf, self.perceived_buffers.get(subgoal_id)):
                if b is not None:
                    b.images.setdefault(cam, []).append(obs.frames[cam].rgb)

    def _add_step(self, buf: _Buffer, obs: Observation, scene: Scene, chunk: ActionChunk) -> None:
        assert self.policy.label is not None
        buf.add("observation.state", schema.encode_state(obs.proprio))
        buf.add("observation.environment_state", buf.slots.encode(scene.tokens))
        buf.add("action", schema.encode_action(chunk))  # what the robot is sent to now, noise and all
        buf.add(CHUNK_KEY, schema.encode_chunk(self.policy.label))
        buf.add(EXECUTED_KEY, schema.encode_chunk(chunk))
        buf.add("expert.phase", self.policy.phase_index)
        buf.add("noise.active", self.policy.noise_active)
        buf.add("is_recovery", self.policy.recovering)

    def episodes(self, uid_prefix: str, outcomes: dict[str, tuple[bool, str | None]], meta: dict[str, Any],
                 video_dir: Path | None = None) -> list[EpisodeRecord]:
        """The recorded subgoals as dataset episodes; `outcomes` maps subgoal id -> (success, reason)."""
        out = []
        streams = [(sg_id, buf, self.tokens, "") for sg_id, buf in self.buffers.items()]
        streams += [(sg_id, buf, "perceived", PERCEIVED_SUFFIX) for sg_id, buf in self.perceived_buffers.items()]
        for sg_id, buf, tokens, suffix in streams:
            n = len(buf.rows["action"])
            success, reason = outcomes.get(sg_id, (False, "not run"))
            columns = {k: np.asarray(v) for k, v in buf.rows.items()}
            columns["next.done"] = np.arange(n) == n - 1
            columns["next.success"] = columns["next.done"] & success
            uid = uid_prefix if len(self.record_ids) == 1 else f"{uid_prefix}-{sg_id}"
            uid += suffix
            videos = _write_videos(buf.images, video_dir / uid) if buf.images and video_dir else {}
            sg = buf.subgoal
            ep_meta = {
                **meta, "skill": sg.skill, "args": json.dumps(dict(sg.args), sort_keys=True),
                "success": bool(success), "failure": reason, "tokens": tokens,
                "label_horizon": self.policy.label_kind, "objects": buf.slots.names, "labels": buf.slots.labels,
                "categories": buf.slots.categories,
                "noise_frames": int(columns["noise.active"].sum()),
                "recovery_frames": int(columns["is_recovery"].sum()),
            }
            out.append(EpisodeRecord(uid, episode_task(sg), columns, ep_meta, videos))
        return out


def episode_task(subgoal: Subgoal) -> str:
    """The episode's LeRobot task string: the operator's words, else the subgoal as an operator would say
    it ("pick up the lemon"), the first of the phrasings the end-to-end policy trains with."""
    from hvla.skills.e2e.instructions import phrasings  # torch comes with it: not at import time

    if subgoal.instruction:
        return subgoal.instruction
    try:
        return phrasings(subgoal.skill, subgoal.args)[0]
    except MessageError:  # a skill nobody wrote phrasings for: its call is the best words there are
        return subgoal.describe()


def _write_videos(images: dict[str, list[NDArray[np.uint8]]], folder: Path) -> dict[str, Path]:
    import imageio.v2 as imageio

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for cam, frames in images.items():
        path = folder / f"{cam}.mp4"
        with imageio.get_writer(path, fps=schema.FPS, codec="libx264", pixelformat="yuv420p",
                                macro_block_size=1, ffmpeg_log_level="error") as writer:
            for frame in frames:
                writer.append_data(frame)
        out[IMAGE_PREFIX + cam] = path
    return out


# --- what to record ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SubgoalSpec:
    """A picklable subgoal (a `Subgoal` holds a mappingproxy, which worker processes cannot receive)."""

    id: str
    skill: str
    args: tuple[tuple[str, str], ...]
    instruction: str = ""  # the operator's words (`Subgoal.instruction`)

    def build(self) -> Subgoal:
        return Subgoal(self.id, self.skill, dict(self.args), instruction=self.instruction)

    @classmethod
    def of(cls, id: str, skill: str, instruction: str = "", **args: str) -> SubgoalSpec:
        return cls(id, skill, tuple(args.items()), instruction)


def build_subgoals(specs: Sequence[SubgoalSpec]) -> list[Subgoal]:
    return [s.build() for s in specs]


@dataclass(frozen=True)
class DemoJob:
    """One episode to record: a kitchen, a short plan, which of its subgoals become data."""

    uid: str
    seed: int
    subgoals: tuple[SubgoalSpec, ...]
    record_ids: tuple[str, ...]
    scene: SceneConfig
    noise: NoiseConfig | None = None
    cameras: tuple[str, ...] = ()
    source: str = "expert"  # expert | dagger-<round>
    perceived: bool = False  # also perceive every frame with the learned detector (`<uid>-perceived` episodes)

    @property
    def lead_in(self) -> tuple[str, ...]:
        """Skills run (unrecorded) before the first recorded subgoal: where the arm comes from."""
        return tuple(s.skill for s in self.subgoals[: first_recorded(self.subgoals, self.record_ids)])


def first_recorded(subgoals: Sequence[SubgoalSpec], record_ids: Sequence[str]) -> int:
    """Index of the first subgoal that becomes data; the ones before it only set the scene up."""
    return next(i for i, s in enumerate(subgoals) if s.id in record_ids)


def scene_for(needed: Sequence[str], distractors: int) -> SceneConfig:
    base = SceneConfig()
    required = tuple(dict.fromkeys((*base.required, *needed)))
    optional = tuple(o for o in base.optional if o not in needed)
    return replace(base, required=required, optional=optional, exclude=HELD_OUT_OBJECTS,
                   distractors=(distractors, distractors))


def demo_case(skill: str, seed: int, lead_in_p: float = 0.0
              ) -> tuple[tuple[SubgoalSpec, ...], tuple[str, ...], tuple[str, ...]]:
    """(subgoals, ids to record, objects the scene needs) for a seeded random instance of `skill`.

    With probability `lead_in_p` another skill runs first, unrecorded, as it would in a plan: the
    recorded skill then starts where that one left the arm (over a bowl, at the wiped patch, the
    gripper open) and in the scene it left (a fruit already in the bowl), not at the ready pose.
    """
    rng = np.random.default_rng([seed, zlib.crc32(skill.encode())])
    if skill == "pick":
        obj = str(rng.choice(PICK_OBJECTS))
        main: tuple[SubgoalSpec, ...] = (SubgoalSpec.of("s0", "pick", object=obj),)
        needed: tuple[str, ...] = (obj,)
    elif skill in ("pick_place", "place"):
        obj, target = str(rng.choice(PLACE_OBJECTS)), str(rng.choice(PLACE_TARGETS))
        needed = (obj, target)
        if skill == "pick_place":
            main = (SubgoalSpec.of("s0", "pick_place", object=obj, target=target),)
        else:  # `place` starts with the object in hand: an unrecorded pick sets the scene up.
            main = (SubgoalSpec.of("s0", "pick", object=obj), SubgoalSpec.of("s1", "place", object=obj, target=target))
    elif skill == "wipe":
        main, needed = (SubgoalSpec.of("s0", "wipe", tool="sponge", region="counter"),), ("sponge",)
    else:
        raise ConfigError(f"cannot record skill '{skill}'; known: {list(SKILLS)}")
    record = (main[-1].id,)
    lead_rng = np.random.default_rng([seed, zlib.crc32(skill.encode()), 17])
    if skill == "place" or lead_rng.random() >= lead_in_p:
        return main, record, needed
    lead = _lead_in(skill, needed, lead_rng)
    renamed = tuple(SubgoalSpec(f"s{i + 1}", s.skill, s.args) for i, s in enumerate(main))
    return (lead, *renamed), (renamed[-1].id,), tuple(dict.fromkeys((*needed, *_objects(lead))))


def _lead_in(skill: str, needed: Sequence[str], rng: np.random.Generator) -> SubgoalSpec:
    """A skill that may come before `skill` in a plan and leaves its objects alone."""
    others = [o for o in PLACE_OBJECTS if o not in needed]
    options = ["pick_place"] + (["wipe"] if skill != "wipe" and "sponge" not in needed else [])
    if rng.choice(options) == "wipe":
        return SubgoalSpec.of("s0", "wipe", tool="sponge", region="counter")
    target = str(rng.choice([t for t in PLACE_TARGETS if t not in needed] or PLACE_TARGETS))
    if target in needed:  # the recorded skill's target: put another fruit there first (a fuller bowl)
        target = str(rng.choice(PLACE_TARGETS))
    return SubgoalSpec.of("s0", "pick_place", object=str(rng.choice(others)), target=target)


def _objects(spec: SubgoalSpec) -> tuple[str, ...]:
    return tuple(v for k, v in spec.args if k in ("object", "target", "tool"))


def plan_demos(
    skill: str, episodes: int, first_seed: int = 0, noise: NoiseConfig | None = None,
    distractors: tuple[int, int] = (0, 3), cameras: Sequence[str] = (), source: str = "expert",
    lead_in_p: float = 0.0, perceived: bool = False,
) -> list[DemoJob]:
    """`episodes` jobs on consecutive seeds; clutter (distractor blocks) varies with the seed."""
    if not 0 <= lead_in_p <= 1:
        raise ConfigError(f"lead_in_p {lead_in_p} must be a probability")
    jobs = []
    for seed in range(first_seed, first_seed + episodes):
        subgoals, record, needed = demo_case(skill, seed, lead_in_p)
        n_blocks = int(np.random.default_rng([seed, 99]).integers(distractors[0], distractors[1] + 1))
        args = "-".join(v for _, v in subgoals[-1].args)
        lead = "".join(f"after_{s.skill}-" for s in subgoals if s.id not in record and s.skill != "pick")
        jobs.append(DemoJob(f"{skill}-{lead}{_slug(args)}-s{seed:06d}", seed, subgoals, record,
                            scene_for(needed, n_blocks), noise, tuple(cameras), source, perceived))
    return jobs


@dataclass(frozen=True)
class RecordPlan:
    """What `hvla data record` was asked for, journalled in the dataset so `--resume` records the rest."""

    skill: str
    episodes: int
    first_seed: int = 0
    noise: bool = True
    cameras: tuple[str, ...] = ()
    lead_in_p: float = 0.4
    perceived: bool = False

    def jobs(self) -> list[DemoJob]:
        return plan_demos(self.skill, self.episodes, self.first_seed, NoiseConfig() if self.noise else None,
                          cameras=self.cameras, lead_in_p=self.lead_in_p, perceived=self.perceived)

    def describe(self) -> str:
        extras = [f"cameras {','.join(self.cameras)}"] if self.cameras else []
        extras += [] if self.noise else ["no noise"]
        extras += ["perceived twins"] if self.perceived else []
        extras.append(f"lead-in {self.lead_in_p:g}")
        last = self.first_seed + self.episodes - 1
        return f"{self.skill}, {self.episodes} episodes on seeds {self.first_seed}-{last} ({', '.join(extras)})"

    def save(self, root: Path) -> None:
        staging.write_journal(Path(root) / ".staging", staging.RECORDING_JOURNAL, asdict(self))

    @classmethod
    def load(cls, root: Path) -> RecordPlan:
        """The plan of the recording in `root`.

        Raises:
            DatasetError: `root` holds no recording journal (not recorded by `hvla data record`).
        """
        content = staging.read_journal(Path(root) / ".staging", staging.RECORDING_JOURNAL)
        if content is None:
            if not Path(root).exists():
                raise DatasetError(f"{root} does not exist: nothing to resume (record with `hvla data record "
                                   f"--skill SKILL --out {root}`)")
            raise DatasetError(
                f"{root} has no recording journal ({root}/.staging/{staging.RECORDING_JOURNAL}; it was not recorded "
                f"by `hvla data record`): nothing to resume. `hvla data repair {root}` finalises what it holds; "
                f"`hvla data record --skill SKILL --out {root}` records into it (episodes already there are skipped)")
        try:
            return cls(**{**content, "cameras": tuple(content.get("cameras", ()))})
        except TypeError as exc:
            raise DatasetError(f"unreadable recording journal in {root}/.staging: {exc}") from None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def check_held_out(jobs: Sequence[DemoJob]) -> None:
    """Refuse a job whose scene could contain a held-out object: it must never become data."""
    for job in jobs:
        if not set(HELD_OUT_OBJECTS) <= set(job.scene.exclude):
            raise ConfigError(f"job {job.uid}: scene must exclude {HELD_OUT_OBJECTS}")

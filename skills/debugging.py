"""Debugging a learned skill policy in the loop: where it parts from the expert, and what it looked at.

`ShadowedPolicy` runs a learned policy (`learned` or `e2e`) while the scripted expert shadows it,
tracked through its phases as in DAgger, so every step has the expert's answer next to the
policy's. A run of steps where the two part (the next waypoint more than `gap_m` apart, or the
gripper commanded the other way) is an *intervention*: where an operator watching would have
taken over, and the states DAgger would label. Each step also records what drove the policy: the
object-centric transformer's attention of its read-out token over the scene's tokens, or, for the
end-to-end network, the image point its action gradient concentrates on (saliency centroid), with
saliency images written at the start of each intervention.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from hvla.core.messages import ActionChunk, Observation, Proprio, Scene, Subgoal
from hvla.skills.policy.dagger import DaggerPolicy

GAP_M = 0.02  # the next waypoints this far apart: the policy is going somewhere the expert is not
MIN_STEPS = 3  # a disagreement this many steps long is an intervention (shorter ones are noise)
OPEN_M = 0.04


@dataclass(frozen=True)
class StepTrace:
    t_s: float
    subgoal: str
    phase: str  # the shadow expert's phase ("descend", "close", "carry", ...)
    gap_m: float | None  # None: the expert had no answer (it could not see its object)
    gripper_disagrees: bool
    focus: dict[str, float]  # attention share per token (top 3), or saliency centroid per camera (u, v in 0..1)

    @property
    def parted(self) -> bool:
        return self.gap_m is not None and (self.gap_m > GAP_M or self.gripper_disagrees)


@dataclass(frozen=True)
class Intervention:
    subgoal: str
    start_s: float
    end_s: float
    steps: int
    phase: str  # the expert's phase when it began
    max_gap_m: float
    gripper: bool  # the gripper was commanded the other way at some step
    focus: dict[str, float]  # what the policy attended to when it began


class ShadowedPolicy:
    """A `SkillPolicy` that executes `learner` and records the shadow expert's disagreement (see module doc)."""

    def __init__(self, learner, seed: int = 0, expert_view: Callable[[Observation], Scene] | None = None,
                 saliency_dir: Path | None = None, gap_m: float = GAP_M) -> None:
        self.learner = learner
        self.cameras = getattr(learner, "cameras", ())
        self.shadow = DaggerPolicy(learner, 0.0, seed, expert_view)
        self.saliency_dir = saliency_dir
        self.gap_m = gap_m
        self.trace: list[StepTrace] = []
        self._subgoal = ""
        self._run = 0
        self._saliency: dict[str, np.ndarray] = {}  # this step's maps (e2e), computed once

    def reset(self, scene: Scene, subgoal: Subgoal) -> None:
        self.shadow.reset(scene, subgoal)
        self._subgoal, self._run = subgoal.id, 0

    def act(self, scene: Scene, proprio: Proprio) -> ActionChunk:
        chunk = self.shadow.act(scene, proprio)
        label = self.shadow.label
        gap = None if label is None else float(np.linalg.norm(chunk.ee_targets[0, :3] - label.ee_targets[0, :3]))
        grip = bool(label is not None and (chunk.gripper_m[0] > OPEN_M) != (label.gripper_m[0] > OPEN_M))
        expert = self.shadow.expert
        phase = expert.phase.name if expert is not None else ""
        step = StepTrace(scene.observation.t_s, self._subgoal, phase, gap, grip, self._focus())
        self.trace.append(step)
        parted = gap is not None and (gap > self.gap_m or grip)
        self._run = self._run + 1 if parted else 0
        if self._run == MIN_STEPS and self.saliency_dir is not None and hasattr(self.learner, "saliency"):
            self._save_saliency(step)
        return chunk

    def _focus(self) -> dict[str, float]:
        if hasattr(self.learner, "attention"):
            att = self.learner.attention()
            readout = att["layers"][-1][:, 0, :].mean(axis=0)  # last layer, read-out row, mean over heads
            top = np.argsort(readout)[::-1][:3]
            return {att["tokens"][i]: round(float(readout[i]), 3) for i in top}
        if hasattr(self.learner, "saliency"):
            out = {}
            self._saliency = self.learner.saliency()
            for cam, sal in self._saliency.items():
                h, w = sal.shape
                mass = sal / max(float(sal.sum()), 1e-12)
                out[f"{cam}:u"] = round(float((mass.sum(0) * np.arange(w)).sum() / (w - 1)), 3)
                out[f"{cam}:v"] = round(float((mass.sum(1) * np.arange(h)).sum() / (h - 1)), 3)
            return out
        return {}

    def _save_saliency(self, step: StepTrace) -> None:
        import imageio.v3 as iio

        assert self.saliency_dir is not None
        images = self.learner.last_images()  # (3 * cameras, S, S) uint8
        tiles = []
        for i, sal in enumerate(self._saliency.values()):
            rgb = images[3 * i:3 * i + 3].transpose(1, 2, 0).astype(np.float32)
            heat = np.stack([sal, np.zeros_like(sal), 1 - sal], axis=-1) * 255
            tiles.append(np.hstack([rgb, 0.4 * rgb + 0.6 * heat]))
        self.saliency_dir.mkdir(parents=True, exist_ok=True)
        path = self.saliency_dir / f"{step.subgoal}_{step.t_s:06.2f}s.png"
        iio.imwrite(path, np.vstack(tiles).clip(0, 255).astype(np.uint8))

    def interventions(self) -> list[Intervention]:
        return interventions(self.trace)

    def to_json(self) -> dict:
        return {"gap_m": self.gap_m, "min_steps": MIN_STEPS, "steps": [asdict(s) for s in self.trace],
                "interventions": [asdict(i) for i in self.interventions()]}


def interventions(trace: list[StepTrace], min_steps: int = MIN_STEPS) -> list[Intervention]:
    """Runs of at least `min_steps` consecutive parted steps within one subgoal."""
    out: list[Intervention] = []
    run: list[StepTrace] = []
    for step in [*trace, None]:
        if step is not None and step.parted and (not run or run[-1].subgoal == step.subgoal):
            run.append(step)
            continue
        if len(run) >= min_steps:
            out.append(Intervention(run[0].subgoal, run[0].t_s, run[-1].t_s, len(run), run[0].phase,
                                    max(s.gap_m or 0.0 for s in run), any(s.gripper_disagrees for s in run),
                                    run[0].focus))
        run = [step] if step is not None and step.parted else []
    return out

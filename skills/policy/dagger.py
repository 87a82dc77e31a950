"""DAgger: roll out the learned policy, label what it visits with the scripted expert, aggregate, retrain.

Labelling a visited state needs the expert's phase (it is a state machine). We track a fresh
expert alongside the learner from the subgoal's start: every step it sees the same scene and hand
and advances its phases by its own rules (the hand reaching its phase target), so its chunk is
what it would do from here. Tracking alone can drift when the learner does something the expert
never would (grasping 7 mm off the expert's target, so the expert never "reaches" its descend
target while the object is already in hand), so the tracker is re-synchronised on the one fact
that decides the phase, the grasp, read from simulator truth: holding the object skips the grasp
phases; losing it after the grasp goes back to the approach. This is cheaper and more faithful
than re-running an expert from scratch at each state (which would re-plan from "rise").

Rounds: round 0 is behaviour cloning on the demonstrations; each round r >= 1 rolls out the
round r-1 policy (executing the expert's chunk instead with probability beta_r, the DAgger mixture),
stages the labelled roll-outs as a new dataset, and fine-tunes on everything so far.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hvla.core.errors import ConfigError, MessageError
from hvla.core.messages import ActionChunk, Observation, Proprio, Scene, Subgoal
from hvla.skills.data.schema import LABELS_AHEAD
from hvla.skills.scripted.experts import KITCHEN_GRASP, GraspConfig, PhaseExpert
from hvla.skills.scripted.lookahead import look_ahead
from hvla.skills.scripted.policy import expert_for

GRASP_PHASES = ("rise", "above", "pregrasp", "descend", "close")
AFTER_RELEASE = ("release", "retreat")
# Way-points, not goals: a learner that cuts the corner (lifts and carries in one diagonal, as its
# run-on labels taught it) is in the next phase once it is nearer that phase's target than this one's
# target is. Without this the tracker kept a whole carry at "lift" and labelled it "go back to where
# you lifted" (seen in a round's labels). Not passable: the descent, the dwells, the lowering and the
# wipe strokes, whose targets are the point of the skill.
PASSABLE_PHASES = ("rise", "above", "pregrasp", "lift", "carry", "above_patch", "approach_patch")
LOST_STEPS = 3  # consecutive steps without the object in hand before the tracker calls it lost
HOLDING_MAX_M = 0.075  # fingers closed at least this far onto the object


def resync_expert(expert: PhaseExpert, held: str, holding: bool, lost_steps: int, scene: Scene | None = None,
                  proprio: Proprio | None = None) -> None:
    """Move the tracking expert to the phase the grasp state implies (see the module docstring).

    Also: a dwell phase (closing the fingers, releasing) only makes sense at its target. When the
    learner leaves the closing target before it holds the object, the tracker steps back to the
    descent; else it would keep labelling "fingers closed" while the hand wanders, teaching the policy
    to close early. When it leaves the release target, the object is let go (on to the retreat) or
    still held (the label stays: back to the release point, open). Stepping back from the release
    would say "go down, fingers closed" to a hand that has just let go, which is the opposite of the plan.
    """
    names = [p.name for p in expert.phases]
    phase = expert.phase.name
    if scene is not None and proprio is not None and expert.phase.dwell_s > 0 and expert.index > 0:
        try:
            goal, _ = expert.target(scene, proprio)
        except MessageError:
            goal = None
        if goal is not None and np.linalg.norm(goal - proprio.ee_position_m) > 2 * expert.phase.tol_m:
            if phase == "close" and not holding:
                expert.goto(expert.index - 1)
                return
            if phase == "release" and not holding and expert.index + 1 < len(names):
                expert.goto(expert.index + 1)
                return
    if scene is not None and proprio is not None and phase in PASSABLE_PHASES and expert.index + 1 < len(names):
        # The hand went past or around this phase's target (a learner faster than the expert, or cutting
        # the corner): it is nearer the next target than this one is, so label from the next phase, not "go back".
        try:
            here, _ = expert.target(scene, proprio)
            nxt, _ = expert.phases[expert.index + 1].target(scene, proprio)
        except MessageError:
            here = nxt = None
        if here is not None and np.linalg.norm(proprio.ee_position_m - nxt) < np.linalg.norm(here - nxt):
            expert.goto(expert.index + 1)
            return
    if holding and phase in GRASP_PHASES and "close" in names:
        after = names.index("close") + 1
        if after < len(names):
            expert.goto(after)
    elif not holding and lost_steps >= LOST_STEPS and phase == "lower" and "retreat" in names:
        expert.goto(names.index("retreat"))  # let go a little above the release point: that was the release
    elif (not holding and lost_steps >= LOST_STEPS and "above" in names and "close" in names
          and phase not in GRASP_PHASES and phase not in AFTER_RELEASE and names.index(phase) > names.index("close")):
        expert.goto(names.index("above"))


def held_object(subgoal: Subgoal) -> str:
    return subgoal.args.get("object") or subgoal.args.get("tool", "")


class DaggerPolicy:
    """Executes the learner (or, with probability `beta`, the expert); `label` is the tracking expert's chunk.

    The label is planned ahead across the expert's phase switches (`look_ahead`): the learner was
    trained on labels that run on (spliced demonstrations), and a one-phase label at a dwell ("stay,
    fingers closing") would teach it to wait there. `label_kind` tells the dataset so, and training
    leaves these labels as they are instead of splicing them.

    `expert_view` gives the expert its own scene from the observation (simulator truth) while the
    learner acts on the perceived one: DAgger on perceived tokens then teaches the learner what to do
    where the detector's tokens put it, with labels a perfect observer would give.
    """

    def __init__(self, learner, beta: float, seed: int,
                 expert_view: Callable[[Observation], Scene] | None = None, grasp: GraspConfig = KITCHEN_GRASP,
                 speed_scale: float = 1.0) -> None:
        if not 0 <= beta <= 1:
            raise ConfigError(f"beta={beta} must be in [0, 1]")
        self.learner = learner
        self.grasp = grasp  # the world's gripper geometry and the experts' speed, as the demonstrations had them
        self.speed_scale = speed_scale
        self.label_kind = LABELS_AHEAD
        self.expert_view = expert_view
        self.beta = beta
        self.rng = np.random.default_rng([seed, 2718])
        self.expert: PhaseExpert | None = None
        self.subgoal: Subgoal | None = None
        self.label: ActionChunk | None = None
        self.phase_index = 0
        self.noise_active = False  # here: the expert's chunk was executed instead of the learner's
        self.recovering = False  # here: the learner disagreed with the expert (the frames DAgger is for)
        self._lost = 0

    def reset(self, scene: Scene, subgoal: Subgoal) -> None:
        self.learner.reset(scene, subgoal)
        self.expert = expert_for(subgoal, self.grasp, scene, self.speed_scale)
        self.subgoal = subgoal
        self._lost = 0
        # `place` starts with the object in hand; `pick_place` and `pick` start empty.

    def act(self, scene: Scene, proprio: Proprio) -> ActionChunk:
        assert self.expert is not None and self.subgoal is not None
        learner_scene = scene
        if self.expert_view is not None:
            scene = self.expert_view(scene.observation)
        truth = scene.observation.truth
        if truth is not None:
            # Both fingers touching is not holding: open fingers can brush a wide object on the way down.
            holding = truth.grasped == held_object(self.subgoal) and proprio.gripper_m < HOLDING_MAX_M
            self._lost = 0 if holding else self._lost + 1
            resync_expert(self.expert, held_object(self.subgoal), holding, self._lost, scene, proprio)
        try:
            self.label = look_ahead(self.expert, scene, proprio, self.expert.act(scene, proprio))
        except MessageError:
            self.label = None  # the expert cannot see its object: no label for this frame
        self.phase_index = self.expert.index
        chunk = self.learner.act(learner_scene, proprio)
        if self.label is not None:
            gap = float(np.linalg.norm(chunk.ee_targets[0, :3] - self.label.ee_targets[0, :3]))
            self.recovering = gap > 0.02 or (chunk.gripper_m[0] > 0.04) != (self.label.gripper_m[0] > 0.04)
        self.noise_active = self.label is not None and self.rng.random() < self.beta
        return self.label if self.noise_active and self.label is not None else chunk


@dataclass(frozen=True)
class DaggerConfig:
    rounds: int = 3
    episodes_per_round: int = 80  # spread over the skills
    skills: tuple[str, ...] = ("pick", "pick_place", "place", "wipe")
    beta0: float = 0.0  # expert share in round 1; halves each round (0: pure learner roll-outs)
    first_seed: int = 50_000  # DAgger kitchens: never the demonstrations' (0..) nor the benchmark's (10000..)
    moved_object_share: float = 0.5  # roll-outs with the object moved mid-grasp (the disturbance DAgger targets)
    perception: str = "oracle"  # what the learner sees during roll-outs; the expert labels from truth
    lead_in_p: float = 0.0  # share of roll-outs that start where another (scripted) skill left the arm

    def __post_init__(self) -> None:
        if self.rounds < 1 or self.episodes_per_round < 1:
            raise ConfigError("rounds and episodes_per_round must be >= 1")
        if not 0 <= self.moved_object_share <= 1:
            raise ConfigError("moved_object_share must be in [0, 1]")

    def beta(self, round_index: int) -> float:
        return self.beta0 * 0.5 ** (round_index - 1)

    def seeds(self, round_index: int) -> range:
        start = self.first_seed + 1000 * round_index
        return range(start, start + self.episodes_per_round)


@dataclass
class RoundReport:
    round: int
    beta: float
    success: dict[str, float]  # roll-out success per skill (and "all", "moved_object")
    episodes: int
    checkpoint: Path


Collect = Callable[[int, Path, Path], dict[str, float]]  # (round, checkpoint, dataset root) -> success
Retrain = Callable[[list[Path], Path, Path], Path]  # (datasets, init checkpoint, out dir) -> checkpoint


def run_dagger(cfg: DaggerConfig, init: Path, demos: list[Path], out: Path, collect: Collect,
               retrain: Retrain, on_round: Callable[[RoundReport], None] | None = None) -> list[RoundReport]:
    """`cfg.rounds` rounds from checkpoint `init`; datasets go to `out/round-<r>/data`."""
    reports = []
    checkpoint = Path(init)
    datasets = list(demos)
    for r in range(1, cfg.rounds + 1):
        root = Path(out) / f"round-{r}"
        success = collect(r, checkpoint, root / "data")
        datasets.append(root / "data")
        checkpoint = retrain(datasets, checkpoint, root / "policy")
        report = RoundReport(r, cfg.beta(r), success, cfg.episodes_per_round, checkpoint)
        reports.append(report)
        if on_round is not None:
            on_round(report)
    return reports

"""What a plan has done so far, as a planner simulates it step by step: the basis of SayCan's
"can this step succeed from here" for every backend."""

from __future__ import annotations

from dataclasses import dataclass, field

from hvla.core.messages import ObjectToken, Scene
from hvla.planner.feasibility.affordance import contents_of
from hvla.planner.language.vocab import PICK, PICK_PLACE, PLACE, PUSH, WIPE


@dataclass
class PlanState:
    """The gripper and the receptacles after the steps applied so far, starting from `scene`."""

    scene: Scene
    held: str | None = None  # the object in the gripper
    last: tuple[ObjectToken, ...] = ()  # what "it"/"them" refer to (rule parsing)
    last_targets: tuple[ObjectToken, ...] = ()  # where the last clause put things ("... and close it")
    placed: dict[str, str] = field(default_factory=dict)  # object -> the target a step put it in

    def contents(self, target: ObjectToken) -> list[ObjectToken]:
        """What sits in/on `target` once the steps so far have run."""
        moved = {n for n, where in self.placed.items() if where != target.name} | ({self.held} - {None})
        inside = [t for t in contents_of(target, self.scene.tokens) if t.name not in moved]
        names = {t.name for t in inside}
        inside += [t for n, where in self.placed.items() if where == target.name and n not in names
                   if (t := self.scene.find(n)) is not None]
        return inside

    def apply(self, skill: str, args: dict[str, str]) -> None:
        """Advance the simulated state by one (already checked) step."""
        if skill == PICK:
            self.held = args["object"]
            self.placed.pop(args["object"], None)
        elif skill in (PLACE, PICK_PLACE, PUSH):
            self.held = None
            self.placed[args["object"]] = args["target"]
        elif skill == WIPE:
            self.held = None

"""`EndToEndSkills`: the pixels-to-actions network behind the `SkillPolicy` interface (`--skills e2e`).

It reads both cameras from the observation and ignores the scene's object tokens entirely. The task
reaches it as words: a subgoal's `instruction` field when the caller has the operator's own
sentence (the benchmark's pure end-to-end stack), else a phrasing of the planned subgoal (`hvla run
--skills e2e`, where the planner still splits a long instruction). Chunks are blended like the
object-centric policy's (temporal ensembling).
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache

import numpy as np
import torch

from hvla.core import panda
from hvla.core.errors import MessageError
from hvla.core.messages import ActionChunk, Proprio, Scene, Subgoal
from hvla.skills.data import schema
from hvla.skills.e2e.checkpoint import LoadedE2E, load_e2e
from hvla.skills.e2e.images import CAMERAS, stack_frames
from hvla.skills.e2e.instructions import TRAIN_TEMPLATES, phrasings
from hvla.skills.policy import features as ft
from hvla.skills.policy.ensemble import EnsembleConfig, TemporalEnsembler
from hvla.skills.policy.learned import MIN_Z_M
from hvla.skills.policy.text import embed
from hvla.skills.scripted.motion import down_quat_wxyz


@lru_cache(maxsize=1)
def _committed() -> LoadedE2E:
    return load_e2e(None)


@lru_cache(maxsize=256)
def _sentence_vector(text: str) -> torch.Tensor:
    return torch.from_numpy(embed([text]))


def instruction_of(subgoal: Subgoal) -> str:
    """The words the network conditions on: the operator's sentence if given, else the subgoal phrased."""
    if subgoal.instruction:
        return subgoal.instruction
    if subgoal.skill not in TRAIN_TEMPLATES:
        raise MessageError(f"the end-to-end policy knows skills {sorted(TRAIN_TEMPLATES)}, not '{subgoal.skill}'")
    return phrasings(subgoal.skill, subgoal.args)[0]


class EndToEndSkills:
    """One network from camera pixels + words + proprioception to waypoint chunks."""

    cameras: tuple[str, ...] = CAMERAS  # the executor renders these for the policy itself

    def __init__(self, policy: LoadedE2E | None = None, ensemble: EnsembleConfig | None = None) -> None:
        self.policy = policy or _committed()
        self.model = self.policy.model
        self.model.eval()
        self.ensembler = TemporalEnsembler(ensemble)
        self.instruction = ""
        self._text: torch.Tensor | None = None
        self._states: deque[np.ndarray] = deque(maxlen=max(ft.HISTORY) + 1)
        self._last: tuple[np.ndarray, torch.Tensor] | None = None

    def reset(self, scene: Scene, subgoal: Subgoal) -> None:
        self.instruction = instruction_of(subgoal)
        self._text = _sentence_vector(self.instruction)
        self._states.clear()
        self.ensembler.reset()

    def act(self, scene: Scene, proprio: Proprio) -> ActionChunk:
        if self._text is None:
            raise MessageError("EndToEndSkills.act called before reset(scene, subgoal)")
        images = stack_frames(scene.observation.frames, CAMERAS, self.model.config.image_size)
        self._states.appendleft(schema.encode_state(proprio))
        states = np.stack([self._states[min(h, len(self._states) - 1)] for h in ft.HISTORY])
        state = torch.from_numpy(states)[None].float()
        raw = ft.RawBatch(torch.zeros(0), torch.zeros(0), state, torch.zeros(0), torch.zeros(0), torch.zeros(0),
                          torch.zeros(0))
        self._last = (images, ft.proprio_features(raw))
        with torch.inference_mode():
            out = self.model(torch.from_numpy(images)[None], self._text, self._last[1])
            pos, yaw, p_open = ft.decode_outputs(out, state[:, 0])
        pos, yaw, p_open, confidence = self.ensembler(pos[0].numpy(), yaw[0].numpy(), p_open[0].numpy())
        pos[:, 2] = np.maximum(pos[:, 2], MIN_Z_M)
        quats = np.array([down_quat_wxyz(float(y)) for y in yaw])
        gripper = np.where(self.ensembler.gripper(p_open, 1.0 / schema.FPS), panda.GRIPPER_MAX_M, 0.0)
        return ActionChunk(np.hstack([pos, quats]), gripper, confidence, 1.0 / schema.FPS)

    def last_images(self) -> np.ndarray:
        """(3 * cameras, S, S) uint8: what the network saw at the last step."""
        if self._last is None:
            raise MessageError("EndToEndSkills.last_images needs a step first (act)")
        return self._last[0]

    def saliency(self) -> dict[str, np.ndarray]:
        """Gradient debugging: per camera, |d (next waypoint's offset, gripper logit) / d pixel| of the last step.

        Summed over colour channels and scaled to 0..1: where in each image the network looked for its
        next move (on the object, or on the background: a shortcut)."""
        if self._last is None or self._text is None:
            raise MessageError("EndToEndSkills.saliency needs a step first (act)")
        images = torch.from_numpy(self._last[0])[None].float().div(255.0).requires_grad_(True)
        with torch.enable_grad():
            out = self.model(images, self._text, self._last[1])
            (out[0, 0, :3].norm() + out[0, 0, 4].abs()).backward()
        assert images.grad is not None
        grad = images.grad[0].abs().view(len(CAMERAS), 3, *images.shape[-2:]).sum(1).numpy()
        return {cam: g / max(float(g.max()), 1e-12) for cam, g in zip(CAMERAS, grad)}

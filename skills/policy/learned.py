"""`LearnedSkills`: the object-centric transformer behind the `SkillPolicy` interface (`--skills learned`).

Closed loop at the executor's 10 Hz: each `act` encodes the scene into the slots fixed at `reset`
(an object missing from a frame keeps its last-seen position: for up to `hold_frames` frames it is
still called present, a flicker any detector has; after that it is flagged absent), stacks the last
frames, predicts K waypoints relative to the hand and blends them with the previous chunks
(temporal ensembling). The network runs in ONNX Runtime by default (`runtime`, see `policy/runtime.py`:
the same outputs, a fraction of the time) or in torch. `attention()` returns the last step's
attention maps with token names (from the torch module, recomputed on demand). With an
anomaly detector, `anomaly` holds the last step's score (> 1: unlike the training data; the
executor's `AnomalyMonitor` reads it).
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from hvla.core import panda
from hvla.core.errors import ConfigError, MessageError
from hvla.core.messages import ActionChunk, Proprio, Scene, Subgoal
from hvla.skills.data import schema
from hvla.skills.policy import features as ft
from hvla.skills.policy.anomaly import AnomalyDetector
from hvla.skills.policy.checkpoint import LoadedPolicy, load_policy
from hvla.skills.policy.ensemble import EnsembleConfig, TemporalEnsembler
from hvla.skills.policy.runtime import PRECISIONS, RUNTIMES, OnnxPolicy
from hvla.skills.policy.samples import subgoal_conditioning
from hvla.skills.scripted.motion import down_quat_wxyz

MIN_Z_M = 0.01  # never command the fingertips into the table (the kitchen's, at z = 0) ...
FLOOR_MARGIN_M = 0.005  # ... nor lower than this under the lowest waypoint the checkpoint was trained on (LIBERO's
# tables lie 1.2 cm below the base, where its flat boxes are grasped: the kitchen floor would keep the hand above)
# A token missing this many frames in a row is still shown as present at its last-seen place. Training
# drops single tokens from single frames only (p = 0.08); at the occlusion benchmark's 30 % per frame the
# net saw slots flagged absent in most frames of its history and stalled (pick_place 60 %). Perception
# with a tracker (yolo) already reports unseen tracks; this covers any front end that flickers.
HOLD_FRAMES = 3


@lru_cache(maxsize=1)
def _committed_policy() -> LoadedPolicy:
    return load_policy(None)  # the kitchen's: a policy given no checkpoint and no world


class LearnedSkills:
    """Trained skills: those of its checkpoint (`skills`; the kitchen's: pick, place, pick_place, wipe), for the
    world it was trained in (`trained_world`; the builder refuses to run it in another)."""

    def __init__(self, policy: LoadedPolicy | None = None, ensemble: EnsembleConfig | None = None,
                 hold_frames: int = HOLD_FRAMES, detector: AnomalyDetector | None = None,
                 runtime: str = "onnx", precision: str = "fp32") -> None:
        if hold_frames < 0:
            raise MessageError(f"hold_frames={hold_frames} must be >= 0")
        if runtime not in RUNTIMES:
            raise ConfigError(f"unknown policy runtime '{runtime}'; known: {list(RUNTIMES)}")
        if precision not in PRECISIONS or (precision == "int8" and runtime != "onnx"):
            raise ConfigError(f"policy precision '{precision}' needs one of {list(PRECISIONS)}, int8 on runtime 'onnx'")
        self.runtime = runtime
        self.precision = precision
        self._onnx: OnnxPolicy | None = None
        self._last_raw: ft.RawBatch | None = None
        self.hold_frames = hold_frames
        self.policy = policy or _committed_policy()
        meta = self.policy.meta
        # What the checkpoint was trained for; checkpoints from before these were recorded: the kitchen's four.
        self.skills = frozenset(meta.get("skills") or ("pick", "pick_place", "place", "wipe"))
        self.trained_world = str(meta.get("world", "kitchen"))
        lowest = meta.get("label_z_min_m")
        self.min_z_m = MIN_Z_M if lowest is None else min(MIN_Z_M, float(lowest) - FLOOR_MARGIN_M)
        if detector is not None:
            detector.check_policy(self.policy)
        self.detector = detector
        self.anomaly: float | None = None
        self.model = self.policy.model
        self.model.eval()
        self.model.keep_attention = True
        self.ensembler = TemporalEnsembler(ensemble)
        self.subgoal: Subgoal | None = None
        self._history: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=max(ft.HISTORY) + 1)

    def reset(self, scene: Scene, subgoal: Subgoal) -> None:
        if subgoal.skill not in self.skills:
            raise MessageError(f"the learned policy was trained on skills {sorted(self.skills)}, not "
                               f"'{subgoal.skill}'; run it with a fallback (LearnedSkillsConfig.fallback) or train "
                               "it on that skill's demonstrations")
        self.subgoal = subgoal
        self.anomaly = None
        self.slots = schema.SlotMap()
        self.memory = self.slots.encode(scene.tokens).reshape(schema.N_SLOTS, schema.TOKEN_DIM)
        self.init = self.memory.copy()
        self._misses = np.zeros(schema.N_SLOTS, dtype=int)
        self._history.clear()
        self.ensembler.reset()
        self._condition()

    def _condition(self) -> None:
        assert self.subgoal is not None
        text = self.policy.text
        n_before = len(text.texts)
        roles, skill, args, arg_roles = subgoal_conditioning(
            self.subgoal.skill, dict(self.subgoal.args), self.slots.names, text)
        if len(text.texts) != n_before:  # a word never seen in training: embed it once, keep it
            self.model.text_table = text.tensor()
        self._cond = (torch.from_numpy(roles)[None], torch.tensor([skill]), torch.from_numpy(args)[None],
                      torch.from_numpy(arg_roles)[None])
        self._n_names = len(self.slots.names)

    def act(self, scene: Scene, proprio: Proprio) -> ActionChunk:
        if self.subgoal is None:
            raise MessageError("LearnedSkills.act called before reset(scene, subgoal)")
        tokens = self.slots.encode(scene.tokens).reshape(schema.N_SLOTS, schema.TOKEN_DIM)
        absent = tokens[:, 0] == 0
        # An object missed at the skill's first frame gets its start from its first sighting: training always
        # saw the start (demonstrations on full scenes), and an empty one reads as "it was at the hand".
        late = (self.init[:, 0] == 0) & ~absent
        self.init[late] = tokens[late]
        self._misses = np.where(absent, self._misses + 1, 0)
        tokens[absent, 1:] = self.memory[absent, 1:]  # last seen ...
        held = absent & (self._misses <= self.hold_frames) & (self.memory[:, 0] > 0)
        tokens[held, 0] = 1.0  # ... and, briefly missed, still there
        self.memory = tokens
        if len(self.slots.names) != self._n_names:
            self._condition()  # a new object appeared: it may be one the subgoal names
        state = schema.encode_state(proprio)
        self._history.appendleft((tokens, state))
        frames = [self._history[min(h, len(self._history) - 1)] for h in ft.HISTORY]
        roles, skill, args, arg_roles = self._cond
        raw = ft.RawBatch(
            tokens=torch.from_numpy(np.stack([f[0] for f in frames]))[None],
            init_tokens=torch.from_numpy(self.init)[None],
            state=torch.from_numpy(np.stack([f[1] for f in frames]))[None],
            roles=roles, skill=skill, args=args, arg_roles=arg_roles,
        )
        self._last_raw = raw
        with torch.inference_mode():
            if self.runtime == "onnx":
                if self._onnx is None:
                    self._onnx = OnnxPolicy(self.policy, raw, self.precision)
                out, embedding = self._onnx(raw, self.model.text_table)
            else:
                embedding = self.model.embed(raw)
                out = self.model.decode(embedding)
            pos, yaw, p_open = ft.decode_outputs(out, raw.state[:, 0])
        if self.detector is not None:
            self.anomaly = self.detector.score(self.subgoal.skill, embedding[0].numpy())
        pos, yaw, p_open, confidence = self.ensembler(pos[0].numpy(), yaw[0].numpy(), p_open[0].numpy())
        pos[:, 2] = np.maximum(pos[:, 2], self.min_z_m)
        quats = np.array([down_quat_wxyz(float(y)) for y in yaw])
        gripper = np.where(self.ensembler.gripper(p_open, 1.0 / schema.FPS), panda.GRIPPER_MAX_M, 0.0)
        return ActionChunk(np.hstack([pos, quats]), gripper, confidence, 1.0 / schema.FPS)

    @property
    def onnx_path(self) -> Path | None:
        """The ONNX file the network runs from (None: torch, or nothing run yet)."""
        return self._onnx.path if self._onnx is not None else None

    def attention(self) -> dict:
        """Last step's attention: per layer (heads, S, S) arrays and the name of every token."""
        if self.runtime != "torch" and self._last_raw is not None:  # the exported graph keeps none: recompute
            with torch.inference_mode():
                self.model(self._last_raw)
        maps = [a[0].numpy() for a in self.model.last_attention()]
        names = ["readout", "proprio", f"skill:{self.subgoal.skill if self.subgoal else ''}"]
        args = list(self.subgoal.args.items()) if self.subgoal else []
        names += [f"{role}:{name}" for role, name in args[: ft.MAX_ARGS]]
        names += [f"arg{i}:-" for i in range(len(args), ft.MAX_ARGS)]
        names += [self.slots.names[i] if i < len(self.slots.names) else f"slot{i}:empty"
                  for i in range(schema.N_SLOTS)]
        return {"tokens": names, "layers": maps}

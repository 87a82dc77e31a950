"""The planner's language: words -> clauses (parsing, lexicon, skill vocabulary) and phrases -> objects
(grounding, scored lexically or with MiniLM sentence embeddings).

Public API:
    parse_instruction, Clause, Item, SKILLS, Intent, Grounder, GroundingConfig, Grounding, ObjectQuery,
    PhraseScorer, LexicalScorer, EmbeddingScorer, parse_object_phrase, MiniLMEncoder, shared_encoder
"""

from hvla.planner.language.encoder import MiniLMEncoder, shared_encoder
from hvla.planner.language.grounding import (
    Grounder,
    Grounding,
    GroundingConfig,
    LexicalScorer,
    ObjectQuery,
    PhraseScorer,
    parse_object_phrase,
)
from hvla.planner.language.parsing import Clause, Item, parse_instruction
from hvla.planner.language.semantic import EmbeddingScorer
from hvla.planner.language.vocab import SKILLS, Intent

__all__ = [
    "SKILLS",
    "Clause",
    "EmbeddingScorer",
    "Grounder",
    "Grounding",
    "GroundingConfig",
    "Intent",
    "Item",
    "LexicalScorer",
    "MiniLMEncoder",
    "ObjectQuery",
    "PhraseScorer",
    "parse_instruction",
    "parse_object_phrase",
    "shared_encoder",
]

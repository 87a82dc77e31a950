"""MiniLM embeddings and the phrase scorer that uses them (unknown words, unseen objects)."""

from __future__ import annotations

import numpy as np
import pytest

from hvla.planner import EmbeddingScorer, Grounder
from hvla.planner.errors import AmbiguityError, ObjectNotFoundError
from hvla.planner.language.semantic import describe_for_embedding, is_unidentified


def test_encoder_gives_one_vector_per_word_and_a_unit_sentence_vector(encoder):
    enc = encoder.encode_words(("put", "the", "banana", "in", "the", "bowl"))
    assert enc.word_vecs.shape == (6, 384) and enc.sentence.shape == (384,)
    assert np.linalg.norm(enc.sentence) == pytest.approx(1.0, abs=1e-5)
    assert encoder.encode_words(("put", "the", "banana", "in", "the", "bowl")) is enc  # cached, not recomputed


def test_embeddings_are_cached_and_similar_texts_are_close(encoder):
    a = encoder.embed(["a yellow banana", "a ripe banana", "a blue bowl"])
    assert np.allclose(encoder.embed(["a yellow banana"])[0], a[0])
    assert a[0] @ a[1] > a[0] @ a[2]


@pytest.fixture
def grounder(encoder) -> Grounder:
    return Grounder(EmbeddingScorer(encoder))


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [("the squishy sponge", "sponge"), ("every piece of fruit", None), ("the banana", "banana"),
     ("the dish", "plate")],
)
def test_unknown_words_before_a_known_noun_are_modifiers(grounder, kitchen, phrase, expected):
    g = grounder.ground(phrase, kitchen)
    if expected is None:
        assert set(g.names) == {"banana", "apple", "mango"}
    else:
        assert g.names == (expected,)


def test_an_unknown_word_after_the_noun_may_be_the_real_noun_and_is_refused(grounder, kitchen):
    with pytest.raises(ObjectNotFoundError, match="'squeezer'"):
        grounder.ground("the banana squeezer", kitchen)


def test_an_unknown_noun_grounds_only_on_a_clear_embedding_match(grounder, kitchen):
    with pytest.raises(ObjectNotFoundError):
        grounder.ground("the unicorn", kitchen)
    with pytest.raises(ObjectNotFoundError):
        grounder.ground("the fridge", kitchen)


def test_unidentified_tokens_ground_by_priors_and_labelled_ones_win(grounder, kitchen, kitchen_unseen):
    assert is_unidentified(kitchen_unseen.find("object_7")) and not is_unidentified(kitchen.find("banana"))
    assert grounder.ground("the mango", kitchen_unseen).names == ("object_7",)
    assert grounder.ground("the orange mango", kitchen_unseen).names == ("object_7",)
    assert grounder.ground("the mango", kitchen).names == ("mango",)  # the labelled one
    with pytest.raises(ObjectNotFoundError, match="no blue mango"):
        grounder.ground("the blue mango", kitchen_unseen)
    with pytest.raises(ObjectNotFoundError, match="no strawberry"):
        grounder.ground("the strawberry", kitchen_unseen)  # strawberries are red and small


def test_an_unlabelled_fruit_token_grounds_an_unknown_fruit_noun_by_category(grounder, scene_of, make_token):
    scene = scene_of(
        make_token("fruit_3", "fruit", "fruit", "orange", (0.5, 0.1, 0.03), (0.14, 0.09, 0.08)),
        make_token("bowl", "bowl", "container", "white", (0.5, -0.2, 0.03), (0.2, 0.2, 0.05)),
        make_token("sponge", "sponge", "tool", "green", (0.4, 0.3, 0.02), (0.09, 0.06, 0.03)),
    )
    assert grounder.ground("the papaya", scene).names == ("fruit_3",)


def test_two_unidentified_candidates_are_a_question(grounder, scene_of, make_token):
    scene = scene_of(
        make_token("object_1", "object", "object", "orange", (0.5, 0.1, 0.03), (0.1, 0.07, 0.06)),
        make_token("object_2", "object", "object", "orange-yellow", (0.5, -0.1, 0.03), (0.11, 0.07, 0.06)),
    )
    with pytest.raises(AmbiguityError):
        grounder.ground("the mango", scene)


def test_descriptions_name_colour_label_and_category(kitchen):
    assert describe_for_embedding(kitchen.find("banana")) == "a yellow banana, a fruit"
    assert describe_for_embedding(kitchen.find("sponge")) == "a green sponge, a tool"

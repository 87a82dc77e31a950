"""The planner interface, its registry and the fixed skill vocabulary."""

from __future__ import annotations

import pytest

from hvla.core.errors import GroundingError, RegistryError
from hvla.planner import PLANNERS, SKILLS, AmbiguityError, InfeasibleError, ObjectNotFoundError, Planner
from hvla.planner.language.vocab import VERBS, Intent


def test_skill_vocabulary_is_pick_place_wipe_and_the_part_skills():
    assert set(SKILLS) == {"pick", "place", "pick_place", "wipe", "push", "open", "close", "turn_on", "turn_off"}
    assert SKILLS["push"].role_names() == ("object", "target")
    assert all(SKILLS[s].role_names() == ("object",) for s in ("open", "close", "turn_on", "turn_off"))
    assert SKILLS["pick"].role_names() == ("object",)
    assert SKILLS["place"].role_names() == ("object", "target")
    assert SKILLS["pick_place"].role_names() == ("object", "target")
    assert SKILLS["wipe"].role_names() == ("region", "tool")
    assert SKILLS["wipe"].role("region").choices == ("counter",)


@pytest.mark.parametrize(
    ("verb", "intent"),
    [("put", Intent.PUT), ("drop", Intent.PUT), ("tidy up", Intent.PUT), ("clear", Intent.PUT),
     ("pick up", Intent.PICK), ("grab", Intent.PICK), ("lift", Intent.PICK),
     ("wipe down", Intent.WIPE), ("clean", Intent.WIPE), ("scrub", Intent.WIPE),
     ("open", Intent.OPEN), ("shut", Intent.CLOSE), ("turn on", Intent.TURN_ON), ("switch off", Intent.TURN_OFF)],
)
def test_verb_synonyms_map_to_intents(verb, intent):
    assert VERBS[tuple(verb.split())] is intent


def test_rules_planner_is_registered_and_meets_the_protocol():
    assert "rules" in PLANNERS.names()
    assert isinstance(PLANNERS.get("rules")(), Planner)


def test_unknown_planner_name_is_a_loud_registry_error():
    with pytest.raises(RegistryError, match="rules"):
        PLANNERS.get("gpt")


@pytest.mark.parametrize("cls", [AmbiguityError, ObjectNotFoundError, InfeasibleError])
def test_planner_errors_are_grounding_errors_so_the_cli_exits_2(cls):
    assert issubclass(cls, GroundingError)

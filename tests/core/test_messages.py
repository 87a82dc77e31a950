import numpy as np
import pytest

from hvla.core.errors import MessageError
from hvla.core.messages import ActionChunk, ObjectToken, Plan, Subgoal


def test_action_chunk_rejects_nan_bad_shape_and_non_unit_quaternions():
    ok = np.tile([0.5, 0, 0.2, 0, 1, 0, 0], (3, 1))
    ActionChunk(ok, np.zeros(3))
    bad = ok.copy()
    bad[1, 0] = np.nan
    with pytest.raises(MessageError, match="ee_targets holds NaN"):
        ActionChunk(bad, np.zeros(3))
    with pytest.raises(MessageError, match="ee_targets has shape"):
        ActionChunk(ok[:, :6], np.zeros(3))
    with pytest.raises(MessageError, match="not unit"):
        ActionChunk(np.tile([0.5, 0, 0.2, 0, 2, 0, 0], (3, 1)), np.zeros(3))
    with pytest.raises(MessageError, match="gripper_m has shape"):
        ActionChunk(ok, np.zeros(2))


def test_messages_are_read_only():
    chunk = ActionChunk(np.tile([0.5, 0, 0.2, 0, 1, 0, 0], (2, 1)), np.zeros(2))
    with pytest.raises(ValueError):
        chunk.ee_targets[0, 0] = 1.0


def test_token_validation_names_the_field():
    with pytest.raises(MessageError, match="token apple: position_m"):
        ObjectToken(1, "apple", 0.9, np.array([0, np.inf, 0]), np.ones(3), "red", np.ones(3))


def test_plan_orders_subgoals_and_rejects_cycles():
    a, b = Subgoal("s0", "pick", {"object": "apple"}), Subgoal("s1", "wipe", {"tool": "sponge"})
    plan = Plan.sequence([a, b], "x")
    assert [s.id for s in plan.subgoals()] == ["s0", "s1"]
    assert plan.to_json()["edges"] == [["s0", "s1"]]
    plan.graph.add_edge("s1", "s0")
    with pytest.raises(MessageError, match="cycle"):
        Plan(plan.graph)

import numpy as np
import pytest

from hvla.skills.policy.ensemble import EnsembleConfig, TemporalEnsembler

K = 10


def _chunk(start: float, step: float = 0.01):
    pos = np.zeros((K, 3))
    pos[:, 0] = start + step * np.arange(1, K + 1)
    return pos, np.zeros(K), np.ones(K)


def test_consistent_chunks_pass_through_unchanged_with_full_confidence():
    ens = TemporalEnsembler(EnsembleConfig(decay=0.5, horizon=4))
    for t in range(5):
        pos, yaw, p = _chunk(0.01 * t)  # each chunk continues the same straight line
        out, _, _, conf = ens(pos, yaw, p)
        np.testing.assert_allclose(out, pos, atol=1e-12)
        assert conf == pytest.approx(1.0)


def test_overlapping_chunks_are_blended_with_newer_ones_weighted_more():
    ens = TemporalEnsembler(EnsembleConfig(decay=np.log(2), horizon=2))  # weights 1 (new), 1/2 (one step old)
    ens(*_chunk(0.0))
    new = _chunk(0.1)
    out, _, _, conf = ens(*new)
    # step t+1 is waypoint 0 of the new chunk and waypoint 1 of the old one
    expected0 = (1.0 * new[0][0, 0] + 0.5 * 0.02) / 1.5
    assert out[0, 0] == pytest.approx(expected0)
    assert out[-1, 0] == pytest.approx(new[0][-1, 0])  # only the newest chunk reaches that far
    assert conf < 1.0


def test_horizon_one_disables_ensembling_and_yaw_blends_on_the_circle():
    ens = TemporalEnsembler(EnsembleConfig(horizon=1))
    ens(*_chunk(0.0))
    pos, _, p = _chunk(0.3)
    out, _, _, _ = ens(pos, np.zeros(K), p)
    np.testing.assert_allclose(out, pos)
    ens2 = TemporalEnsembler(EnsembleConfig(decay=0.0, horizon=2))
    ens2(np.zeros((K, 3)), np.full(K, np.pi - 0.1), np.ones(K))
    _, yaw, _, _ = ens2(np.zeros((K, 3)), np.full(K, -np.pi + 0.1), np.ones(K))
    assert abs(abs(yaw[0]) - np.pi) < 1e-9  # the mean of +-(pi - 0.1) is pi, not 0


def test_a_gripper_flip_is_held_for_the_dwell_time():
    ens = TemporalEnsembler(EnsembleConfig(gripper_hold_s=0.3))
    closed, opened = np.zeros(K), np.ones(K)
    assert ens.gripper(opened, 0.1).all()  # first decision: open
    assert ens.gripper(opened, 0.1).all()
    assert ens.gripper(opened, 0.1).all()
    assert not ens.gripper(closed, 0.1).any()  # held long enough: the flip to closed happens
    assert not ens.gripper(opened, 0.1).any()  # ... and sticks for 0.3 s
    assert not ens.gripper(opened, 0.1).any()
    assert ens.gripper(opened, 0.1).all()

import numpy as np

from hvla.skills.data import schema
from hvla.skills.policy.samples import splice_phase_switches

K = schema.CHUNK_K


def _expert_chunks(z_per_frame: np.ndarray) -> np.ndarray:
    """(F, K * 8) one-phase chunks: every waypoint of frame t holds the height the expert aimed at at t."""
    out = np.zeros((len(z_per_frame), K, 8), dtype=np.float32)
    out[..., 2] = z_per_frame[:, None]
    out[..., 7] = np.arange(len(z_per_frame))[:, None]  # which frame's plan a waypoint came from
    return out.reshape(len(z_per_frame), -1)


def test_a_dwell_label_runs_on_into_the_lift_that_followed_it():
    # Phase 0 (closing the fingers, stay at z = 0.03) for 5 frames, then phase 1 (lift to 0.3).
    phase = np.array([0] * 5 + [1] * 8)
    z = np.where(phase == 0, 0.03, 0.3)
    spliced = splice_phase_switches(_expert_chunks(z), phase, np.array([0]), np.array([13])).reshape(-1, K, 8)
    # Frame 2 of the dwell: waypoints 0..2 stay, from waypoint 3 on the lift planned at frame 5.
    np.testing.assert_allclose(spliced[2, :, 2], [0.03] * 3 + [0.3] * 7)
    np.testing.assert_array_equal(spliced[2, :, 7], [2, 2, 2] + [5] * 7)
    # A frame inside one phase to the episode's end keeps its own plan.
    np.testing.assert_array_equal(spliced[8, :, 7], [8] * K)


def test_splicing_never_crosses_into_the_next_episode_and_keeps_the_first_waypoint():
    phase = np.array([0, 0, 1, 1, 0, 0, 0, 1])  # episodes [0, 4) and [4, 8)
    chunks = _expert_chunks(np.arange(8, dtype=np.float32))
    spliced = splice_phase_switches(chunks, phase, np.array([0, 4]), np.array([4, 4])).reshape(-1, K, 8)
    np.testing.assert_array_equal(spliced[:, 0], chunks.reshape(-1, K, 8)[:, 0])
    assert spliced[:4, :, 7].max() <= 3 and spliced[4:, :, 7].min() >= 4
    np.testing.assert_array_equal(spliced[0, :, 7], [0, 0] + [2] * (K - 2))
    np.testing.assert_array_equal(spliced[4, :, 7], [4, 4, 4] + [7] * (K - 3))


def test_the_gripper_label_can_stay_the_experts_command_of_the_moment():
    phase = np.array([0] * 4 + [1] * 6)
    chunks = _expert_chunks(np.where(phase == 0, 0.03, 0.3))
    kept = splice_phase_switches(chunks, phase, np.array([0]), np.array([10]), gripper=False).reshape(-1, K, 8)
    np.testing.assert_allclose(kept[1, :, 2], [0.03] * 3 + [0.3] * 7)  # positions still run on into phase 1
    np.testing.assert_array_equal(kept[1, :, 7], [1] * K)  # the gripper channel keeps frame 1's own plan


def test_episodes_labelled_ahead_are_left_as_they_are():
    phase = np.array([0, 0, 1, 1, 0, 0, 1, 1])  # episodes [0, 4) (expert demo) and [4, 8) (DAgger, labelled ahead)
    chunks = _expert_chunks(np.arange(8, dtype=np.float32))
    spliced = splice_phase_switches(chunks, phase, np.array([0, 4]), np.array([4, 4]),
                                    ahead=np.array([False, True])).reshape(-1, K, 8)
    np.testing.assert_array_equal(spliced[0, :, 7], [0, 0] + [2] * (K - 2))
    np.testing.assert_array_equal(spliced[4:], chunks.reshape(-1, K, 8)[4:])


def _written(root, episode_factory, world: str | None, skills=("pick", "open")):
    from hvla.skills.data.lerobot import DatasetWriter

    writer = DatasetWriter(root, extra_info={"world": world} if world else None)
    for i, skill in enumerate(skills):
        writer.stage(episode_factory(f"{root.name}-{i}", 8, i, skill=skill))
    writer.finalise()
    return root


def test_a_skill_filter_keeps_only_those_skills_and_the_world_comes_from_the_dataset(tmp_path, episode_factory):
    from hvla.skills.policy.samples import load_training_set
    from hvla.skills.policy.text import TextTable

    root = _written(tmp_path / "libero", episode_factory, "libero")
    ts = load_training_set([root], TextTable.build(["pick up the object"]), skills=("pick",))
    assert ts.world == "libero" and ts.skills == ["pick"]
    assert ts.ep_skill_name == ["pick", "open"] and ts.ep_weight[1] == 0  # the drawer's pull is not trained on
    kitchen = load_training_set([_written(tmp_path / "old", episode_factory, None)], TextTable.build([]))
    assert kitchen.world == "kitchen" and kitchen.skills == ["open", "pick"]


def test_datasets_of_two_worlds_or_no_skill_left_are_refused_by_name(tmp_path, episode_factory):
    import pytest

    from hvla.core.errors import DatasetError
    from hvla.skills.policy.samples import load_training_set
    from hvla.skills.policy.text import TextTable

    libero = _written(tmp_path / "libero", episode_factory, "libero")
    kitchen = _written(tmp_path / "kitchen", episode_factory, None)
    with pytest.raises(DatasetError, match="different worlds"):
        load_training_set([libero, kitchen], TextTable.build([]))
    with pytest.raises(DatasetError, match=r"no episode .* left to train on"):
        load_training_set([libero], TextTable.build([]), skills=("wipe",))

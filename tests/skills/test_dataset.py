import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from hvla.core.errors import DatasetError
from hvla.skills.data.lerobot import (
    DATA_PATH,
    EPISODES_PATH,
    DatasetWriter,
    check_dataset,
    load_dataset,
    recover_interrupted_commit,
    repair_dataset,
)
from hvla.skills.data.quality import QualityFilter, quality_report


def _write(root, episodes, **kw):
    writer = DatasetWriter(root, **kw)
    for ep in episodes:
        writer.stage(ep)
    return writer.finalise()


def test_round_trip_keeps_every_column_in_the_lerobot_v3_layout(tmp_path, episode_factory):
    eps = [episode_factory("a", 12, 0), episode_factory("b", 7, 1, skill="wipe", success=False)]
    info = _write(tmp_path, eps)
    assert info["codebase_version"] == "v3.0" and info["fps"] == 10
    assert info["total_episodes"] == 2 and info["total_frames"] == 19
    for rel in ("meta/info.json", "meta/stats.json", "meta/tasks.parquet", "meta/episodes/chunk-000/file-000.parquet",
                "data/chunk-000/file-000.parquet"):
        assert (tmp_path / rel).exists(), rel
    assert info["features"]["observation.environment_state"]["shape"] == [192]
    tasks = pq.read_table(tmp_path / "meta/tasks.parquet")
    assert json.loads(tasks.schema.metadata[b"pandas"])["index_columns"] == ["task"]
    ds = load_dataset(tmp_path)
    for i, ep in enumerate(eps):
        sl = ds.frames(i)
        for name, values in ep.columns.items():
            np.testing.assert_array_equal(ds.columns[name][sl], np.asarray(values).reshape(ds.columns[name][sl].shape))
        np.testing.assert_allclose(ds.columns["timestamp"][sl], np.arange(ep.length) / 10, atol=1e-6)
    assert ds.episodes[1]["hvla/success"] is False and ds.episodes[1]["hvla/skill"] == "wipe"
    assert np.array_equal(ds.columns["index"], np.arange(19))
    stats = json.loads((tmp_path / "meta/stats.json").read_text())
    np.testing.assert_allclose(stats["action"]["mean"], ds.columns["action"].mean(0), rtol=1e-5, atol=1e-6)


def test_recording_resumes_and_appends_in_new_files(tmp_path, episode_factory):
    _write(tmp_path, [episode_factory("a", 5)])
    writer = DatasetWriter(tmp_path)
    assert writer.done_uids() == {"a"}
    writer.stage(episode_factory("b", 6, 1))
    assert writer.done_uids() == {"a", "b"}
    info = writer.finalise()
    assert info["total_episodes"] == 2 and info["total_frames"] == 11
    ds = load_dataset(tmp_path)
    assert [e["hvla/uid"] for e in ds.episodes] == ["a", "b"]
    assert ds.episodes[1]["data/file_index"] == 1
    assert [p.name for p in (tmp_path / ".staging").iterdir()] == ["writer.journal"]  # every episode committed


def test_an_interrupted_commit_rolls_back_or_forward(tmp_path, episode_factory):
    _write(tmp_path, [episode_factory("a", 5)])
    (tmp_path / ".next" / "data").mkdir(parents=True)  # crashed before COMPLETE
    with pytest.raises(DatasetError, match="interrupted"):
        load_dataset(tmp_path)
    recover_interrupted_commit(tmp_path)
    assert load_dataset(tmp_path).info["total_episodes"] == 1


def test_a_truncated_file_is_named_on_load_and_repair_drops_its_episode(tmp_path, episode_factory):
    _write(tmp_path, [episode_factory(u, 8, i) for i, u in enumerate("abc")], max_file_mb=1e-6)  # one file each
    victim = tmp_path / DATA_PATH.format(chunk_index=0, file_index=1)
    victim.write_bytes(victim.read_bytes()[:100])
    with pytest.raises(DatasetError, match=r"file-001\.parquet"):
        load_dataset(tmp_path)
    dropped = repair_dataset(tmp_path)
    assert [d.episodes for d in dropped] == [(1,)]
    ds = load_dataset(tmp_path)
    assert [e["hvla/uid"] for e in ds.episodes] == ["a", "c"]
    assert np.array_equal(ds.columns["index"], np.arange(16)) and check_dataset(tmp_path) == []


def test_a_missing_file_is_named_on_load(tmp_path, episode_factory):
    _write(tmp_path, [episode_factory(u, 4, i) for i, u in enumerate("ab")], max_file_mb=1e-6)
    (tmp_path / DATA_PATH.format(chunk_index=0, file_index=0)).unlink()
    with pytest.raises(DatasetError, match=r"missing.*file-000\.parquet"):
        load_dataset(tmp_path)
    repair_dataset(tmp_path)
    assert [e["hvla/uid"] for e in load_dataset(tmp_path).episodes] == ["b"]


def test_videos_are_concatenated_with_episode_time_ranges(tmp_path, episode_factory):
    from hvla.skills.data.record import _write_videos

    eps = []
    for i, n in enumerate((6, 9)):
        ep = episode_factory(f"v{i}", n, i)
        frames = [np.full((32, 32, 3), 20 * t, np.uint8) for t in range(n)]
        ep.videos = _write_videos({"scene": frames}, tmp_path / "tmp" / ep.uid)
        eps.append(ep)
    _write(tmp_path / "ds", eps, cameras=("scene",), image_hw=(32, 32))
    ds = load_dataset(tmp_path / "ds")
    key = "observation.images.scene"
    assert ds.episodes[1][f"videos/{key}/from_timestamp"] == pytest.approx(0.6)
    assert ds.episodes[1][f"videos/{key}/to_timestamp"] == pytest.approx(1.5)
    path = ds.video_path(1, key)
    assert path.exists() and check_dataset(tmp_path / "ds", deep_video=True) == []
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    assert any("mp4" in d.reason for d in check_dataset(tmp_path / "ds"))


def test_stats_hold_lerobots_quantiles_and_per_channel_image_stats(tmp_path, episode_factory):
    from hvla.skills.data.lerobot.stats import QUANTILE_KEYS, STAT_KEYS
    from hvla.skills.data.record import _write_videos

    eps = []
    for i, n in enumerate((6, 9)):
        ep = episode_factory(f"v{i}", n, i)
        frames = [np.full((32, 32, 3), (200, 20 * t, 9), np.uint8) for t in range(n)]
        ep.videos = _write_videos({"scene": frames}, tmp_path / "tmp" / ep.uid)
        eps.append(ep)
    _write(tmp_path / "ds", eps[:1], cameras=("scene",), image_hw=(32, 32))
    _write(tmp_path / "ds", eps[1:], cameras=("scene",), image_hw=(32, 32))  # appended: stats re-aggregated
    stats = json.loads((tmp_path / "ds/meta/stats.json").read_text())
    ds = load_dataset(tmp_path / "ds")
    assert QUANTILE_KEYS == ("q01", "q10", "q50", "q90", "q99")
    state = ds.columns["observation.state"]
    assert set(stats["observation.state"]) == set(STAT_KEYS) and stats["observation.state"]["count"] == [15]
    np.testing.assert_allclose(stats["observation.state"]["std"], state.std(0), rtol=1e-5, atol=1e-6)
    q = {k: np.asarray(v) for k, v in stats["observation.state"].items()}
    assert np.all((q["min"] - 1e-9 <= q["q01"]) & (q["q01"] <= q["q50"]) & (q["q50"] <= q["q99"]))
    assert np.all(q["q99"] <= q["max"] + 1e-9)  # LeRobot's histogram pads the range by 1e-10
    image = {k: np.asarray(v) for k, v in stats["observation.images.scene"].items()}
    assert set(image) == set(STAT_KEYS) and image["count"].tolist() == [15]  # every frame sampled: short episodes
    assert all(image[k].shape == (3, 1, 1) for k in STAT_KEYS if k != "count")
    assert np.all((image["min"] >= 0) & (image["max"] <= 1))
    np.testing.assert_allclose(image["mean"].ravel(), [200 / 255, 20 * np.mean([*range(6), *range(9)]) / 255, 9 / 255],
                               atol=0.02)  # h264 moves a pixel by a few levels
    assert image["std"].ravel()[1] > 0.1 > image["std"].ravel()[0]  # not LeRobot 0.4.4's wrapped-uint8 zero
    per_episode = ds.episodes[1]["stats/observation.images.scene/q50"]
    assert np.asarray(per_episode).shape == (3, 1, 1)


# The layouts hvla recorded before, each as (the columns it lacks, today's columns by the names it stored them
# under, why appending to it is refused).
EARLIER_LAYOUTS = {
    "chunks in action": (("action",), {"label.chunk": "action", "executed.chunk": "action.executed"},
                         r"recorded with `action` as 80-number label chunks, before .*new --out"),
    "chunks under the action prefix": ((), {"label.chunk": "action.chunk", "executed.chunk": "action.executed"},
                                       r"recorded with its chunks in `action.chunk` and `action.executed`.*new --out"),
}


def _as_recorded_in(root: Path, dropped: tuple[str, ...], stored_as: dict[str, str]) -> None:
    """Rewrite a dataset as an earlier hvla recorded it: without the `dropped` columns and with `stored_as`'s
    under their names of then, in its features, its data files, its stats and its episodes' stats."""

    def then(key: str) -> str:
        if key.startswith("stats/"):  # the episodes' `stats/<feature>/<stat>`
            feature, stat = key[len("stats/"):].rsplit("/", 1)
            return f"stats/{then(feature)}/{stat}"
        return stored_as.get(key, key)

    def gone(key: str) -> bool:
        return key in dropped or any(key.startswith(f"stats/{d}/") for d in dropped)

    for name in ("info.json", "stats.json"):
        meta = json.loads((root / "meta" / name).read_text())
        if name == "info.json":
            meta["features"] = {then(k): v for k, v in meta["features"].items() if not gone(k)}
        else:
            meta = {then(k): v for k, v in meta.items() if not gone(k)}
        (root / "meta" / name).write_text(json.dumps(meta))
    for path in [*root.glob("data/*/*.parquet"), root / EPISODES_PATH]:
        table = pq.read_table(path)
        table = table.drop_columns([c for c in table.column_names if gone(c)])
        pq.write_table(table.rename_columns([then(c) for c in table.column_names]), path)


def test_today_only_action_itself_carries_lerobots_action_prefix(tmp_path, episode_factory):
    features = _write(tmp_path, [episode_factory("a", 4, 0)])["features"]
    assert features["action"]["shape"] == [8] and features["action"]["names"][0] == "ee.x"
    assert features["label.chunk"]["shape"] == features["executed.chunk"]["shape"] == [80]
    # LeRobot's `dataset_to_policy_features` takes every key that starts with "action" for an action.
    assert [k for k in features if k.startswith("action")] == ["action"]


@pytest.mark.parametrize("layout", list(EARLIER_LAYOUTS))
def test_a_dataset_of_an_earlier_layout_reads_and_trains_under_todays_names(tmp_path, episode_factory, layout):
    from hvla.skills.policy.samples import COLUMNS, load_training_set
    from hvla.skills.policy.text import TextTable, default_vocabulary

    dropped, stored_as, refusal = EARLIER_LAYOUTS[layout]
    eps = [episode_factory("a", 8, 0), episode_factory("b", 5, 1)]
    _write(tmp_path, eps)
    _as_recorded_in(tmp_path, dropped, stored_as)
    features = json.loads((tmp_path / "meta/info.json").read_text())["features"]
    assert not {"label.chunk", "executed.chunk"} & set(features)  # only the earlier names are on disk
    ds = load_dataset(tmp_path)
    assert {"action", "label.chunk", "executed.chunk"} <= set(ds.columns)
    assert not {"action.chunk", "action.executed"} & set(ds.columns)
    for name in ("action", "label.chunk", "executed.chunk"):
        np.testing.assert_array_equal(ds.columns[name], np.concatenate([e.columns[name] for e in eps]), err_msg=name)
    assert set(load_dataset(tmp_path, COLUMNS).columns) == set(COLUMNS)
    ts = load_training_set([tmp_path], TextTable.build(default_vocabulary()), splice_phases=False)
    np.testing.assert_array_equal(ts.action.numpy(), ds.columns["label.chunk"])
    assert quality_report(ds)["actions"]["gripper_open_share"] == 1.0
    with pytest.raises(DatasetError, match=refusal):
        DatasetWriter(tmp_path)


def test_an_action_of_neither_layout_is_refused_by_shape(tmp_path, episode_factory):
    _write(tmp_path, [episode_factory("a", 4, 0)])
    info = json.loads((tmp_path / "meta/info.json").read_text())
    info["features"]["action"]["shape"] = [7]
    (tmp_path / "meta/info.json").write_text(json.dumps(info))
    with pytest.raises(DatasetError, match=r"`action` has shape \[7\]; hvla reads \[8\]"):
        load_dataset(tmp_path, check=False)


def test_quality_report_counts_tasks_and_the_filter_drops_failures(tmp_path, episode_factory):
    _write(tmp_path, [episode_factory("a", 10, 0), episode_factory("b", 10, 1, success=False)])
    ds = load_dataset(tmp_path)
    rep = quality_report(ds)
    assert rep["episodes"] == 2 and rep["success_rate"] == 0.5
    assert rep["per_task"]["pick(object=banana)"] == {"episodes": 2, "succeeded": 1}
    assert QualityFilter(success_only=True).weights(ds).tolist() == [1.0, 0.0]
    assert QualityFilter().weights(ds)[1] == pytest.approx(0.2)


def test_dagger_rollouts_keep_full_quality_whatever_the_learners_outcome(tmp_path, episode_factory):
    ep = episode_factory("d", 10, 0, success=False)
    ep.meta["source"] = "dagger1"
    _write(tmp_path, [ep, episode_factory("a", 10, 1, success=False)])
    ds = load_dataset(tmp_path)
    weights = dict(zip([e["hvla/uid"] for e in ds.episodes], QualityFilter().weights(ds).tolist()))
    assert weights == {"d": 1.0, "a": 0.2}


def test_an_object_flung_off_the_table_zeroes_the_episodes_quality(tmp_path, episode_factory):
    ep = episode_factory("x", 10, 0)
    env = ep.columns["observation.environment_state"].reshape(10, 16, 12)
    env[5:, 0, 3] = -40.0  # fell forever: no floor in an old kitchen
    ep.columns["observation.environment_state"] = env.reshape(10, -1)
    _write(tmp_path, [ep, episode_factory("y", 10, 1)])
    ds = load_dataset(tmp_path)
    assert QualityFilter().weights(ds).tolist() == [0.0, 1.0]
    assert quality_report(ds)["implausible_episodes"] == 1


def test_an_episode_whose_argument_names_no_token_weighs_nothing(tmp_path, episode_factory):
    from hvla.skills.data.lerobot import DatasetWriter, load_dataset
    from hvla.skills.data.quality import QualityFilter, quality_report

    good = episode_factory("pick-good", 6, seed=1)
    lost = episode_factory("pick-lost-perceived", 6, seed=2)
    lost.meta.update(objects=["apple", "object_1", "bowl"], tokens="perceived")  # the banana never grounded
    writer = DatasetWriter(tmp_path / "ds")
    writer.stage(good)
    writer.stage(lost)
    writer.finalise()
    ds = load_dataset(tmp_path / "ds")
    weights = dict(zip([e["hvla/uid"] for e in ds.episodes], QualityFilter().weights(ds)))
    assert weights["pick-good"] > 0 and weights["pick-lost-perceived"] == 0
    report = quality_report(ds)
    assert report["ungrounded_episodes"] == 1
    assert report["token_sources"] == {"oracle": 1, "perceived": 1}

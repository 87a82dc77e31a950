import json

from typer.testing import CliRunner

from hvla.orchestration.cli import app
from hvla.skills.data.lerobot import DATA_PATH, DatasetWriter


def _dataset(root, factory, n=2):
    writer = DatasetWriter(root, max_file_mb=1e-6)
    for i in range(n):
        writer.stage(factory(f"e{i}", 6, i))
    writer.finalise()


def test_data_report_prints_one_json_object(tmp_path, episode_factory):
    _dataset(tmp_path, episode_factory)
    result = CliRunner().invoke(app, ["data", "report", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["episodes"] == 2 and report["per_skill"]["pick"]["success_rate"] == 1.0


def test_a_damaged_dataset_is_bad_input_until_repaired(tmp_path, episode_factory):
    _dataset(tmp_path, episode_factory)
    (tmp_path / DATA_PATH.format(chunk_index=0, file_index=0)).write_bytes(b"PAR1 cut")
    runner = CliRunner()
    result = runner.invoke(app, ["data", "report", str(tmp_path)])
    assert result.exit_code == 2 and "file-000.parquet" in result.output
    result = runner.invoke(app, ["data", "repair", str(tmp_path)])
    assert result.exit_code == 0 and "dropped" in result.output
    assert runner.invoke(app, ["data", "report", str(tmp_path), "--json"]).exit_code == 0


def test_unknown_skill_is_bad_input(tmp_path):
    result = CliRunner().invoke(app, ["data", "record", "--skill", "juggle", "--episodes", "1", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "juggle" in result.output


def test_rollouts_of_the_committed_policy_are_kept_with_expert_labels(tmp_path):
    from hvla.skills.data.lerobot import load_dataset

    result = CliRunner().invoke(app, ["data", "rollouts", "--episodes", "1", "--skills", "pick", "--workers", "1",
                                      "--out", str(tmp_path / "ro")])
    assert result.exit_code == 0, result.output
    assert "roll-out success: all" in result.output
    ds = load_dataset(tmp_path / "ro", ("action", "executed.chunk"))
    assert len(ds.episodes) == 1 and ds.episodes[0]["hvla/skill"] == "pick"
    assert ds.episodes[0]["hvla/source"] == "dagger0" and ds.episodes[0]["hvla/seed"] == 60_000

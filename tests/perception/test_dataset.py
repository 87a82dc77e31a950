"""The dataset generator: ultralytics layout, polygons in range, the mango only in the novel split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hvla.perception.dataset import CLASS_NAMES, DatasetConfig, labelled_frames, mask_polygon, write_dataset

pytestmark = pytest.mark.render


def test_writes_an_ultralytics_segmentation_dataset(tmp_path: Path):
    config = DatasetConfig(scenes={"train": 2, "val": 1}, views_per_scene=1)
    yaml = write_dataset(tmp_path, config, log=False)
    text = yaml.read_text()
    assert "train: images/train" in text and "val: images/val" in text and "8: dirt" in text
    images = sorted((tmp_path / "images" / "train").glob("*.png"))
    assert len(images) == 2 * 2  # 2 kitchens x 1 view x 2 cameras
    n_lines = 0
    for img in images:
        for line in (tmp_path / "labels" / "train" / f"{img.stem}.txt").read_text().splitlines():
            values = line.split()
            assert 0 <= int(values[0]) < len(CLASS_NAMES)
            xy = np.array(values[1:], float)
            assert len(xy) >= 6 and len(xy) % 2 == 0 and (xy >= 0).all() and (xy <= 1).all()
            n_lines += 1
    assert n_lines > 5


def test_the_mango_is_only_in_the_novel_split():
    config = DatasetConfig(views_per_scene=1)
    train = [name for lf in labelled_frames(10_000, "train", config) for _, name, _ in lf.instances]
    novel = [lf for lf in labelled_frames(40_000, "novel", config)]
    assert "mango" not in train
    assert any(o.label == "mango" for o in novel[0].objects)


def test_a_split_mask_becomes_one_polygon():
    mask = np.zeros((40, 40), bool)
    mask[5:15, 5:15] = True
    mask[25:35, 25:35] = True
    poly = mask_polygon(mask)
    assert poly is not None and poly.shape[1] == 2
    assert poly[:, 0].min() <= 6 and poly[:, 0].max() >= 33

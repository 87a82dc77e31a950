"""skills/data: demonstrations in the LeRobotDataset v3 layout (record, load, check, repair, report).

    lerobot/     the dataset format itself: schema, writer, commit, stats, reader, staging, repair
    schema.py    how hvla's messages become dataset columns (state, object tokens, actions, chunk labels)
    record.py    the episode recorder and the recording plans the roll-out tools run
    quality.py   per-episode quality scores and the dataset report
    disturb.py   the disturbances roll-outs inject (a moved object, occlusion)

Public API:
    DatasetWriter, load_dataset, EpisodeRecorder, RecordPlan, quality_report, QualityFilter, Disturbance
"""

from hvla.skills.data.disturb import Disturbance
from hvla.skills.data.lerobot import DatasetWriter, load_dataset
from hvla.skills.data.quality import QualityFilter, quality_report
from hvla.skills.data.record import EpisodeRecorder, RecordPlan

__all__ = ["DatasetWriter", "Disturbance", "EpisodeRecorder", "QualityFilter", "RecordPlan", "load_dataset",
           "quality_report"]

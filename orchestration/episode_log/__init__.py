"""Episode logs: one folder per episode, written so that a crash never leaves a file half-written.

Layout of `root/<episode_id>/`:

    meta.json       what the caller passed (seed, instruction, implementations, ...) + episode_id
    status.json     {"state": "running" | "complete" | "incomplete", "error": str | null, "owner": pid/host}
    plan.json       the latest Plan.to_json();  plans.json: every plan of the episode, in order
    events.jsonl    one Event.to_json() per line, flushed and fsynced per event
    steps/NNNNNN.npz  one file per 10 Hz step: observation, tokens, action chunk, joint commands
    final.npz       proprio after the last step's commands (written by finish)
    outcome.json    success, failure, per-subgoal results (written by finish)

Every file except events.jsonl is written to a temporary name in the same folder and renamed into
place (`os.replace` is atomic on POSIX), so a reader sees either the old file or the new one. A process
that dies (exception, Ctrl-C, SIGKILL) leaves `status.json` at "running" or "incomplete": the loader
reports such an episode as `incomplete=True` and still reads every step that was written.

A killed writer cannot write its own ending, so "running" on disk is only a claim: status.json names the
writer (pid, host, process start time) and the reader reports "interrupted" once that process is gone.
A log from another host (or from before the owner was recorded) is judged by its last write instead:
quiet for `STALE_S`, it is interrupted.

Step files are `.npz` without pickles. Images are PNG (lossless) or JPEG bytes, depth is float16
(about 1 mm resolution at 1 m), everything else float64. Object masks and features are not logged.

Files by role: `schema.py` (constants, records, step encoding), `writer.py`, `reader.py`, `recovery.py`
(whether a "running" log is still being written).
"""

from hvla.orchestration.episode_log.reader import iter_step_images, list_episodes, load_episode, step_files
from hvla.orchestration.episode_log.recovery import last_write_wall_s, reported_state
from hvla.orchestration.episode_log.schema import (
    COMPLETE,
    FORMAT_VERSION,
    IMAGE_FORMATS,
    INCOMPLETE,
    INTERRUPTED,
    RUNNING,
    STALE_S,
    Episode,
    EpisodeSummary,
    IncompleteEpisodeWarning,
    StepRecord,
)
from hvla.orchestration.episode_log.writer import EpisodeWriter, default_episode_id

__all__ = [
    "COMPLETE",
    "FORMAT_VERSION",
    "IMAGE_FORMATS",
    "INCOMPLETE",
    "INTERRUPTED",
    "RUNNING",
    "STALE_S",
    "Episode",
    "EpisodeSummary",
    "EpisodeWriter",
    "IncompleteEpisodeWarning",
    "StepRecord",
    "default_episode_id",
    "iter_step_images",
    "last_write_wall_s",
    "list_episodes",
    "load_episode",
    "reported_state",
    "step_files",
]

"""`hvla planner ...`: planner tools (`hvla train planner-head` runs `train-head` too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Planner tools: train the planner head.")


@app.callback()
def _group() -> None:
    """Planner tools."""


@app.command("train-head")
def train_head(
    n_train: Annotated[int, typer.Option(help="Generated training instructions.")] = 6000,
    epochs: Annotated[int, typer.Option(help="Passes over the training words.")] = 12,
    seed: Annotated[int, typer.Option(help="Seed of the data generator and the initial weights.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Where to write the weights (default: the committed artefact).")]
    = None,
    register: Annotated[bool, typer.Option(help="Record the artefact and its metrics in artifacts/MANIFEST.")] = True,
) -> None:
    """Train the planner head on generated instructions and write artifacts/planner_head.npz."""
    from hvla.planner.head.train import TrainConfig, train_and_save

    metrics = train_and_save(TrainConfig(n_train=n_train, epochs=epochs, seed=seed), out, register=register and out
                             is None)
    print(json.dumps(metrics, indent=1))

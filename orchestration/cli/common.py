"""What the `hvla` sub-commands share: the error console, exit code 2 on bad input, the command line itself."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hvla.core.errors import HvlaError

console = Console(stderr=True)

Workers = Annotated[int, typer.Option(help="Worker processes (default: half the cores; the machine is shared).")]
DataPaths = Annotated[list[Path], typer.Option("--data", help="Dataset folder; repeat for several.")]


def fail(exc: HvlaError) -> typer.Exit:
    """Bad input: the message only, exit code 2 (nothing was changed)."""
    console.print(f"[red]error:[/red] {exc}", soft_wrap=True)
    return typer.Exit(code=2)


def command_line() -> str:
    """The command as typed, for the artefact manifest (how to remake it)."""
    return "hvla " + " ".join(shlex.quote(a) for a in sys.argv[1:])

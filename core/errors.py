"""One exception tree. The CLI maps every `HvlaError` to exit code 2 with its message."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


class HvlaError(Exception):
    """Root of every error hvla raises on purpose."""


class ConfigError(HvlaError):
    """A configuration value is out of its valid range."""


class MessageError(HvlaError):
    """A message was built with a wrong shape, a non-finite value or an out-of-range field."""


class RegistryError(HvlaError):
    """An implementation name is not registered."""


class UnreachableError(HvlaError):
    """IK could not reach a target pose within tolerance."""

    def __init__(self, target: ArrayLike, residual_m: float, residual_rad: float = 0.0) -> None:
        self.target = np.asarray(target, dtype=float)
        self.residual_m = float(residual_m)
        self.residual_rad = float(residual_rad)
        rot = f", {self.residual_rad:.3f} rad" if np.isfinite(self.residual_rad) else ""
        super().__init__(
            f"target {np.round(self.target, 3).tolist()} unreachable: residual {self.residual_m * 1e3:.1f} mm{rot}"
        )


class SafetyError(HvlaError):
    """A command was refused by the safety layer (or the e-stop is engaged)."""


class SimulationError(HvlaError):
    """The physics became unstable (MuJoCo warning, NaN state): never a demonstration."""


class GroundingError(HvlaError):
    """An instruction names something that is not in the scene, or nothing parseable."""


class CheckpointError(HvlaError):
    """A trained artefact is missing, corrupt or was made with another configuration."""


class ReadOnlyArtifactsError(CheckpointError):
    """A new artefact was to be written where artefacts are only read (the installed package's copy)."""


class DatasetError(HvlaError):
    """A dataset file is missing, truncated or inconsistent."""


class EStopLatchedError(HvlaError):
    """The cell's e-stop is latched: nothing may move until the operator resets it."""


class LiberoError(SimulationError):
    """The LIBERO server is missing, died, hung, or failed a request; the message names the fix.

    `kind` is one of "missing" (no python with libero), "start" (it did not come up), "dead" (it exited),
    "timeout" (no answer in time: it was stopped), "remote" (a request raised inside it: `remote_type` is the
    exception's class name, and the server lives on) or "closed" (used after close).
    """

    def __init__(self, message: str, kind: str, remote_type: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.remote_type = remote_type

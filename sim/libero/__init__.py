"""sim.libero: LIBERO's Panda tasks and BDDL success checks, run by a server process on LIBERO's own stack.

client.py (`LiberoServer`) starts sim/libero/server.py with the LIBERO venv's python (`make libero-venv`) and talks
to it over protocol.py (JSON + .npy). Nothing here imports LIBERO: it lives in the other interpreter.
world.py (`LiberoWorld`, registered as world "libero" with a `LiberoConfig`) puts a task behind hvla's `World`.
"""

from hvla.sim.libero.client import (
    LiberoCameraFrame,
    LiberoHello,
    LiberoObject,
    LiberoObservation,
    LiberoRegion,
    LiberoReset,
    LiberoServer,
    LiberoServerConfig,
    LiberoTask,
    LiberoTaskInfo,
)
from hvla.sim.libero.world import LiberoConfig, LiberoWorld

__all__ = [
    "LiberoCameraFrame",
    "LiberoConfig",
    "LiberoHello",
    "LiberoObject",
    "LiberoObservation",
    "LiberoRegion",
    "LiberoReset",
    "LiberoServer",
    "LiberoServerConfig",
    "LiberoTask",
    "LiberoTaskInfo",
    "LiberoWorld",
]

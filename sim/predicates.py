"""Task predicates from simulator ground truth: in, on, grasped, wiped.

They read a `WorldTruth`, so they work on a live world and on a logged episode alike.
"""

from __future__ import annotations

import numpy as np

from hvla.core.messages import ObjectState, WorldTruth
from hvla.sim.scene import SINK_CENTER_M, SINK_SIZE_M

CONTAINER_LABELS = ("bowl", "cup")
SURFACE_LABELS = ("plate",)


def _inside_vessel(obj: ObjectState, vessel: ObjectState) -> bool:
    """Object centre within the vessel's rim radius and between its floor and rim (+ a little)."""
    radius = 0.5 * min(vessel.extent_m[0], vessel.extent_m[1])
    bottom = vessel.position_m[2] - 0.5 * vessel.extent_m[2]
    top = vessel.position_m[2] + 0.5 * vessel.extent_m[2]
    dxy = np.linalg.norm(obj.position_m[:2] - vessel.position_m[:2])
    return bool(dxy < radius * 0.95 and bottom < obj.position_m[2] < top + 0.5 * obj.extent_m[2])


def _on_surface(obj: ObjectState, surface: ObjectState) -> bool:
    radius = 0.5 * min(surface.extent_m[0], surface.extent_m[1])
    top = surface.position_m[2] + 0.5 * surface.extent_m[2]
    obj_bottom = obj.position_m[2] - 0.5 * obj.extent_m[2]
    dxy = np.linalg.norm(obj.position_m[:2] - surface.position_m[:2])
    return bool(dxy < radius and -0.01 < obj_bottom - top < 0.02)


def _in_sink(obj: ObjectState) -> bool:
    d = np.abs(obj.position_m[:2] - np.array(SINK_CENTER_M))
    return bool((d < np.array(SINK_SIZE_M) / 2).all() and obj.position_m[2] < 0.1)


def relations(objects: tuple[ObjectState, ...], grasped: str | None) -> dict[str, str]:
    """For each resting object, the container or surface it is in or on."""
    out: dict[str, str] = {}
    for obj in objects:
        if obj.name == grasped or obj.category in ("container", "surface"):
            continue
        for other in objects:
            if other.name == obj.name:
                continue
            if (other.label in CONTAINER_LABELS and _inside_vessel(obj, other)) or (
                other.label in SURFACE_LABELS and _on_surface(obj, other)
            ):
                out[obj.name] = other.name
                break
        else:
            if _in_sink(obj):
                out[obj.name] = "sink"
    return out


def is_in(truth: WorldTruth, obj: str, container: str) -> bool:
    """`in(obj, container)`: resting inside a bowl, cup or the sink (not held)."""
    truth.object(obj)
    if container != "sink":
        truth.object(container)
    return truth.relations.get(obj) == container


def is_on(truth: WorldTruth, obj: str, surface: str) -> bool:
    """`on(obj, surface)`: resting on a plate (or, for a container target, inside it)."""
    return is_in(truth, obj, surface)


def is_grasped(truth: WorldTruth, obj: str) -> bool:
    truth.object(obj)
    return truth.grasped == obj


def wiped(truth: WorldTruth) -> float:
    """Fraction of the dirt patch the sponge has covered, 0 .. 1."""
    return truth.wiped_fraction

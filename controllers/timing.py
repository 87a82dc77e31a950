"""Timing of chunk waypoints in joint space: durations the arm can actually keep.

A chunk asks for waypoints `dt_s` apart. After IK, those steps may need more joint velocity or
acceleration than the planning limits allow (from rest, near a singularity). Ruckig, asked to pass
a waypoint at a velocity it cannot build up in time, swings back and forth. So the durations are
first stretched until the piecewise-linear joint path, with velocity changes at segment middles,
respects the limits; the pass velocities then follow from the stretched timing.

Shapes: K waypoints, 7 joints.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

_MAX_PASSES = 100  # each pass only lengthens durations; a handful suffices in practice


def time_scale(
    q_start_rad: ArrayLike,
    dq_start_radps: ArrayLike,
    q_waypoints_rad: ArrayLike,
    durations_s: ArrayLike,
    max_velocity_radps: ArrayLike,
    max_acceleration_radps2: ArrayLike,
    end_at_rest: bool = True,
) -> FloatArray:
    """(K,) segment durations >= `durations_s` whose joint velocities and accelerations are in limits.

    Segment k goes from waypoint k-1 (the start for k = 0) to waypoint k at constant velocity;
    velocity changes between segment middles, starting at `dq_start_radps` and, if `end_at_rest`,
    ending at rest. Executing only the head of a chunk (receding horizon), the arm must not plan
    to stop at its end: the braking would slow every segment before it.
    """
    q = np.vstack([np.asarray(q_start_rad, float)[None], np.asarray(q_waypoints_rad, float)])
    delta = np.diff(q, axis=0)  # (K, 7)
    vmax, amax = np.asarray(max_velocity_radps, float), np.asarray(max_acceleration_radps2, float)
    d = np.maximum(np.asarray(durations_s, float), np.abs(delta / vmax).max(axis=1))
    v_start = np.asarray(dq_start_radps, float)
    for _ in range(_MAX_PASSES):
        changed = False
        # Velocity steps: start -> segment 0, segment k-1 -> k, last segment -> rest.
        for k in range(len(d) + 1 if end_at_rest else len(d)):
            v_prev = v_start if k == 0 else delta[k - 1] / d[k - 1]
            v_next = np.zeros(7) if k == len(d) else delta[k] / d[k]
            span = (d[k - 1] / 2 if k > 0 else 0.0) + (d[k] / 2 if k < len(d) else 0.0)
            ratio = float(np.max(np.abs(v_next - v_prev) / (amax * span)))
            if ratio > 1.0 + 1e-9:
                # Stretching both neighbours by s divides their velocities by s and multiplies the
                # span by s; s = sqrt(ratio) fixes it exactly unless the fixed start velocity dominates.
                s = max(np.sqrt(ratio), 1.05)
                d[max(k - 1, 0) : k + 1] *= s
                changed = True
        if not changed:
            break
    return d


def pass_velocities(
    q_start_rad: ArrayLike, q_waypoints_rad: ArrayLike, durations_s: ArrayLike, end_at_rest: bool = True
) -> FloatArray:
    """(K, 7) velocity to pass each waypoint with: the time-weighted mean of its two segments.

    The last waypoint is passed at rest, or (not `end_at_rest`) at its segment's velocity.
    """
    q = np.vstack([np.asarray(q_start_rad, float)[None], np.asarray(q_waypoints_rad, float)])
    d = np.asarray(durations_s, float)
    seg_v = np.diff(q, axis=0) / d[:, None]  # (K, 7)
    out = np.zeros_like(seg_v)
    if len(d) > 1:
        w_in, w_out = d[1:, None], d[:-1, None]  # central difference: weight each side by the other's duration
        out[:-1] = (seg_v[:-1] * w_in + seg_v[1:] * w_out) / (w_in + w_out)
    if not end_at_rest:
        out[-1] = seg_v[-1]
    return out

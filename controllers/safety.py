"""The last gate before the robot: every joint command passes through `SafetyLayer.check`.

Clamps what can be clamped (joint positions, velocities, gripper), refuses what cannot (leaving
the workspace, TCP too fast, driving into a singularity, a sender gone silent) by stopping, and
records every violation. Every stop (e-stop, refusal, watchdog) is a category-1 stop: the time-optimal,
jerk-limited deceleration of the command stream along its path, then a hold (`braking.HardLimitMotion`).
Every command let through is checked for acceleration and jerk as the FCI derives them (finite
differences of the commanded positions); one that exceeds them is replaced by the closest step the
limits allow. The e-stop is latched until `reset_estop`.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hvla.controllers.braking import HardLimitMotion
from hvla.controllers.robot_model import PandaModel, jacobian_condition
from hvla.core import panda
from hvla.core.errors import ConfigError, SafetyError
from hvla.core.robot import JointCommand

FloatArray = NDArray[np.float64]
_GRIPPER_MAX = panda.GRIPPER_MAX_M

_REST_RADPS = 1e-9  # joint speeds below this are rest

# Kinds of event after which the command actually sent is a hold, not the one asked for.
REFUSAL_KINDS = frozenset({"estop", "watchdog", "workspace", "ee_speed", "singularity_halt"})


@dataclass(frozen=True)
class SafetyConfig:
    """Limits enforced on every command. The workspace box bounds the TCP, in world [m]."""

    workspace_min_m: tuple[float, float, float] = (0.1, -0.6, 0.0)  # z = 0 is the table top
    workspace_max_m: tuple[float, float, float] = (0.9, 0.6, 0.9)
    max_ee_speed_mps: float = 1.0
    singularity_slow_cond: float = 17.0  # MoveIt Servo's defaults
    singularity_halt_cond: float = 30.0
    watchdog_s: float = 0.1  # a gap between commands longer than this means the sender died
    margin_rad: float = panda.COMMAND_MARGIN_RAD
    # Stops and filtered commands use this fraction of the hard acceleration and jerk limits: the rest is
    # headroom for the first samples, which join a stream whose state is estimated from its positions.
    stop_limit_fraction: float = 0.9
    max_events: int = 10_000  # oldest events are dropped beyond this; `counts` keeps the totals

    def __post_init__(self) -> None:
        lo, hi = np.asarray(self.workspace_min_m, float), np.asarray(self.workspace_max_m, float)
        if lo.shape != (3,) or hi.shape != (3,) or not np.all(lo < hi):
            raise ConfigError(f"workspace box {self.workspace_min_m}..{self.workspace_max_m} must have min < max")
        if not 0 < self.max_ee_speed_mps <= panda.EE_SPEED_MAX_MPS:
            raise ConfigError(
                f"max_ee_speed_mps={self.max_ee_speed_mps} must be in (0, {panda.EE_SPEED_MAX_MPS}] (hard bound)"
            )
        if not 1 <= self.singularity_slow_cond < self.singularity_halt_cond:
            raise ConfigError(
                f"singularity thresholds slow={self.singularity_slow_cond}, halt={self.singularity_halt_cond}"
                " must satisfy 1 <= slow < halt"
            )
        if not self.watchdog_s > 0:
            raise ConfigError(f"watchdog_s={self.watchdog_s} must be > 0")
        if not 0 <= self.margin_rad < 0.5:
            raise ConfigError(f"margin_rad={self.margin_rad} must be in [0, 0.5)")
        if not 0 < self.stop_limit_fraction <= 0.95:
            raise ConfigError(f"stop_limit_fraction={self.stop_limit_fraction} must be in (0, 0.95]")
        if self.max_events < 1:
            raise ConfigError(f"max_events={self.max_events} must be >= 1")


@dataclass(frozen=True)
class SafetyEvent:
    """One violation: when (safety-layer clock [s]), what kind, and the numbers behind it."""

    t_s: float
    kind: str  # estop, nonfinite, watchdog, joint_limit, joint_velocity, joint_step, joint_acceleration,
    # joint_jerk, gripper, singularity_slow, singularity_halt, workspace, ee_speed
    detail: str

    @property
    def refused(self) -> bool:
        return self.kind in REFUSAL_KINDS


class SafetyLayer:
    """Filters joint commands against joint, Cartesian and singularity limits."""

    def __init__(self, model: PandaModel | None = None, config: SafetyConfig | None = None) -> None:
        self.model = model or PandaModel()
        self.config = config or SafetyConfig()
        self.q_lo, self.q_hi = self.model.command_limits(self.config.margin_rad)
        self.box_lo = np.asarray(self.config.workspace_min_m, float)
        self.box_hi = np.asarray(self.config.workspace_max_m, float)
        self.events: deque[SafetyEvent] = deque(maxlen=self.config.max_events)
        self.counts: Counter[str] = Counter()
        self.t_s = 0.0
        self._estop = threading.Event()  # set from any thread; read once per control period
        self._estop_reason = ""
        self._last: JointCommand | None = None  # the last command sent (let through, filtered or a stop sample)
        self._last_cond = 0.0  # Jacobian condition number at `_last`
        self._history: deque[FloatArray] = deque(maxlen=3)  # the positions sent before `_last`'s, oldest first
        self._motion: HardLimitMotion | None = None  # made for the first control period seen
        self._motion_live = False  # the motion generator produced `_last`: its state is exact
        self._period_s = 0.002  # the command stream's period, from the last `dt_s` that was not a gap
        self._stopping = False  # a stop (refusal, watchdog) is braking: it goes on until the arm is at rest
        self._kin_memo: dict[bytes, tuple[FloatArray, FloatArray]] = {}  # q -> (T_world_ee, J); see _kinematics

    # --- the gate ---------------------------------------------------------------------------

    def check(self, cmd: JointCommand, q_now_rad: ArrayLike, dt_s: float) -> JointCommand:
        """The command to send in place of `cmd`, `dt_s` after the previous one.

        Raises:
            SafetyError: `cmd` or the measured `q_now_rad` holds NaN or inf before any command was sent
                (afterwards a NaN engages the e-stop instead).
        """
        if not dt_s > 0:
            raise SafetyError(f"dt_s={dt_s} since the last command must be > 0")
        self.t_s += dt_s
        if dt_s <= self.config.watchdog_s:
            # The stream's period, known from its first command: the hard-derivative projection below bounds a
            # step by J dt^3, and with the 2 ms default at LIBERO's 50 ms steps it let the arm creep for 1.5 s
            # from rest (a 15 000-fold tighter jerk bound) until a filter happened to set the period.
            self._period_s = dt_s
        q_now = self._finite_state(cmd, q_now_rad)
        # A hold keeps the gripper as it was: opening it on a stop would drop what it holds.
        gripper = self._last.gripper_m if self._last is not None else float(np.clip(cmd.gripper_m, 0, _GRIPPER_MAX))
        if self._estop.is_set() or self._stopping:
            return self._stop(q_now, gripper, dt_s)
        if self._last is not None and dt_s > self.config.watchdog_s:
            self._record("watchdog", f"{dt_s:.3f} s since the last command > {self.config.watchdog_s} s")
            return self._stop(q_now, gripper, dt_s)
        ref = self._last.q_rad if self._last is not None else np.clip(q_now, self.q_lo, self.q_hi)
        ref_cond = self._last_cond if self._last is not None else self._condition(ref)
        q, dq = self._clamp_joints(cmd, ref, dt_s)
        cond = self._condition(q)
        if self._refuse_singular(cond, ref_cond) or self._refuse_cartesian(q, ref, dt_s):
            return self._stop(q_now, gripper, dt_s)
        q, dq, cond = self._slow_near_singularity(q, dq, ref, cond, ref_cond)
        dq = self._limit_ff_ee_speed(q, dq)
        if self._last is None:
            self._history.clear()
            self._history.extend([ref] * 3)  # a new stream starts from rest where the arm is
        filtered = self._filter_derivatives(q, dq, dt_s)
        if filtered is not None:
            q, dq = filtered
            cond = self._condition(q)
        else:
            self._motion_live = False
        return self._send(JointCommand(q, dq, self._clamp_gripper(cmd.gripper_m)), cond)

    # --- e-stop -----------------------------------------------------------------------------

    def estop(self, reason: str = "software e-stop") -> None:
        """From the next command, brake to rest within the limits and hold there until `reset_estop`."""
        if not self._estop.is_set():
            self._record("estop", reason)
            self._estop_reason = reason
        self._estop.set()

    def reset_estop(self) -> None:
        """Release the e-stop (the operator's explicit reset); the next command starts from the measured
        position. Refused while the arm is still braking: a reset never cuts a stop short."""
        if self._estop.is_set() and not self.at_rest:
            raise SafetyError("the arm is still braking; reset the e-stop once it has stopped")
        self._estop.clear()
        self._estop_reason = ""
        self.reset()

    @property
    def estopped(self) -> bool:
        return self._estop.is_set()

    @property
    def estop_reason(self) -> str:
        return self._estop_reason

    @property
    def at_rest(self) -> bool:
        """The last command sent holds still (no stream yet counts as rest)."""
        return self._last is None or (np.abs(self._last.dq_radps).max() < _REST_RADPS and self._derivatives_at_rest())

    @property
    def state(self) -> tuple[FloatArray, FloatArray, FloatArray] | None:
        """(q, dq, ddq) of the command stream as sent, for a generator that continues it (None: no stream)."""
        if self._last is None:
            return None
        self._sync_motion(self._period_s)
        assert self._motion is not None
        return self._motion.q.copy(), self._motion.dq.copy(), self._motion.ddq.copy()

    # --- queries ----------------------------------------------------------------------------

    def in_workspace(self, p_world_m: ArrayLike) -> bool:
        return self.workspace_distance(p_world_m) == 0.0

    def workspace_distance(self, p_world_m: ArrayLike) -> float:
        """Distance [m] from a point to the workspace box; 0 inside."""
        p = np.asarray(p_world_m, float)
        return float(np.linalg.norm(np.maximum(self.box_lo - p, 0) + np.maximum(p - self.box_hi, 0)))

    def refusals(self) -> int:
        """How many commands were replaced by a hold since construction."""
        return sum(n for kind, n in self.counts.items() if kind in REFUSAL_KINDS)

    def reset(self) -> None:
        """Forget the last safe command (a new episode or a robot moved by hand); keeps the log."""
        self._last = None
        self._history.clear()
        self._motion_live = False
        self._stopping = False

    # --- internals --------------------------------------------------------------------------

    def _kinematics(self, q: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(T_world_ee, J) of `q`, remembered for the last few q: a step asks for the new q's pose, Jacobian and
        condition number and the previous command's pose, which the step before computed (1 pinocchio pass a
        step instead of 5, at 500 Hz)."""
        key = np.asarray(q, dtype=np.float64).tobytes()
        hit = self._kin_memo.get(key)
        if hit is None:
            hit = self.model.kinematics(q)
            if len(self._kin_memo) >= 4:
                self._kin_memo.pop(next(iter(self._kin_memo)))
            self._kin_memo[key] = hit
        return hit

    def _condition(self, q: FloatArray) -> float:
        return jacobian_condition(self._kinematics(q)[1])

    def _record(self, kind: str, detail: str) -> None:
        self.events.append(SafetyEvent(self.t_s, kind, detail))
        self.counts[kind] += 1

    def _finite_state(self, cmd: JointCommand, q_now_rad: ArrayLike) -> FloatArray:
        """The measured q, checked. A NaN or inf in the command or the measurement engages the e-stop: the
        stream brakes from its own last state, which needs no measurement (a stop that trusted a NaN would
        not be one). With no stream to brake there is nothing to stop, and nothing safe to send: it raises.

        Raises:
            SafetyError: non-finite input before any command was sent, or a measurement of the wrong shape.
        """
        q_now = np.asarray(q_now_rad, dtype=float)
        cmd_ok = all(np.isfinite(p).all() for p in (np.asarray(cmd.q_rad), np.asarray(cmd.dq_radps),
                                                     np.array([cmd.gripper_m])))
        state_ok = q_now.shape == (7,) and bool(np.isfinite(q_now).all())
        if cmd_ok and state_ok:
            return q_now
        what = "joint command" if not cmd_ok else "measured joint state"
        self._record("nonfinite", f"command q={cmd.q_rad}, dq={cmd.dq_radps}, measured q={q_now}")
        if self._last is None or q_now.shape != (7,):
            raise SafetyError(f"non-finite {what} (measured q {q_now.tolist()}) and no command stream to stop")
        self.estop(f"non-finite {what}")
        return q_now if state_ok else self._last.q_rad

    def _send(self, cmd: JointCommand, cond: float) -> JointCommand:
        cmd = self._within_hard_derivatives(cmd)
        if self._last is not None:
            self._history.append(self._last.q_rad)
        self._last, self._last_cond = cmd, cond
        return cmd

    def _within_hard_derivatives(self, cmd: JointCommand) -> JointCommand:
        """The guarantee under every command sent: each joint's next position is projected into the interval
        where its finite-difference velocity, acceleration and jerk stay within the hard limits.

        The motion generators keep inside it by construction; this catches the samples that join a stream
        whose state was estimated. The interval is never empty: at the Panda's 2 ms period the jerk limit
        spans the whole acceleration range in one step (J dt = A for every joint), so from any state within
        the limits zero acceleration, and with it a velocity within the limit, stays reachable.
        """
        if len(self._history) < 3 and self._last is None:
            return cmd
        dt = self._period_s
        h1 = self._last.q_rad if self._last is not None else self._history[-1]
        h2, h3 = (self._history[-1], self._history[-2]) if self._last is not None else (h1, h1)
        shrink = 1.0 - 1e-9  # round-off must not land a hair beyond a limit
        centres_spans = (
            (3 * h1 - 3 * h2 + h3, shrink * panda.DDDQ_MAX_RADPS3 * dt**3),
            (2 * h1 - h2, shrink * panda.DDQ_MAX_RADPS2 * dt**2),
            (h1, shrink * panda.DQ_MAX_RADPS * dt),
        )
        lo, hi = np.full(7, -np.inf), np.full(7, np.inf)
        for centre, span in centres_spans:  # jerk first: it is the one that must always hold
            new_lo, new_hi = np.maximum(lo, centre - span), np.minimum(hi, centre + span)
            ok = new_lo <= new_hi
            lo, hi = np.where(ok, new_lo, lo), np.where(ok, new_hi, hi)
        q = np.clip(cmd.q_rad, lo, hi)
        if np.array_equal(q, cmd.q_rad):
            return cmd
        self._record("joint_jerk", "sample projected into the hard velocity / acceleration / jerk limits")
        self._motion_live = False  # the generator's state no longer matches what was sent
        return JointCommand(q, (q - h1) / dt, cmd.gripper_m)

    def _stop(self, q_now: FloatArray, gripper_m: float, dt_s: float) -> JointCommand:
        """The next sample of a category-1 stop: brake the sent stream to rest, then hold.

        With no stream yet, the hold is at the measured position (clipped to the hard limits only:
        holding a measured pose inside the margin would move the arm).
        """
        if self._last is None:
            q = np.clip(q_now, self.model.q_min_rad, self.model.q_max_rad)
            self._history.clear()
            self._history.extend([q] * 3)
            motion = self._motion_for(dt_s)
            motion.set_state(q, np.zeros(7), np.zeros(7))
        else:
            self._sync_motion(dt_s)
            motion = self._motion_for(dt_s)
        q, dq = motion.brake()
        self._motion_live = True
        q = np.clip(q, self.model.q_min_rad, self.model.q_max_rad)
        sent = self._send(JointCommand(q, dq, gripper_m), self._condition(q))
        self._stopping = not self.at_rest  # a stop, once begun, ends at rest; then commands are checked again
        return sent

    def _filter_derivatives(self, q: FloatArray, dq: FloatArray, dt_s: float) -> tuple[FloatArray, FloatArray] | None:
        """The closest step the acceleration and jerk limits allow toward (q, dq); None when (q, dq) is within."""
        assert self._last is not None or len(self._history) == 3
        prev = self._last.q_rad if self._last is not None else self._history[-1]
        h2, h3 = (self._history[-1], self._history[-2]) if self._last is not None else (prev, prev)
        acc = (q - 2 * prev + h2) / dt_s**2
        jerk = (q - 3 * prev + 3 * h2 - h3) / dt_s**3
        acc_ratio = float(np.max(np.abs(acc) / panda.DDQ_MAX_RADPS2))
        jerk_ratio = float(np.max(np.abs(jerk) / panda.DDDQ_MAX_RADPS3))
        if acc_ratio <= 1.0 and jerk_ratio <= 1.0:
            return None
        kind, ratio = ("joint_acceleration", acc_ratio) if acc_ratio > 1.0 else ("joint_jerk", jerk_ratio)
        self._record(kind, f"command is {ratio:.1f}x the {kind.removeprefix('joint_')} limit: filtered")
        if self._last is None:  # a first command that jumps: from rest at the reference
            self._motion_for(dt_s).set_state(prev, np.zeros(7), np.zeros(7))
        else:
            self._sync_motion(dt_s)
        q_f, dq_f = self._motion_for(dt_s).track(q, dq)
        self._motion_live = True
        return np.clip(q_f, self.q_lo, self.q_hi), dq_f

    def _motion_for(self, dt_s: float) -> HardLimitMotion:
        """The generator at the stream's period (a watchdog gap is not a period: the stop keeps the last one)."""
        if dt_s <= self.config.watchdog_s:
            self._period_s = dt_s
        if self._motion is None or abs(self._motion.dt_s - self._period_s) > 1e-12:
            old, self._motion = self._motion, HardLimitMotion(self._period_s, self.config.stop_limit_fraction)
            if old is not None:
                self._motion.set_state(old.q, old.dq, old.ddq)
        return self._motion

    def _sync_motion(self, dt_s: float) -> None:
        """Give the motion generator the sent stream's state, unless it made that state itself.

        The state is the cubic through the last four positions sent, evaluated at the last: continuing
        it with a jerk within the limits keeps the stream's finite-difference jerk within them too.
        """
        motion = self._motion_for(dt_s)
        if self._motion_live:
            return
        assert self._last is not None
        dt = motion.dt_s
        q0 = self._last.q_rad
        q1, q2, q3 = (self._history[-1], self._history[-2], self._history[-3]) if len(self._history) == 3 else (q0,) * 3
        motion.set_state(q0, (11 * q0 - 18 * q1 + 9 * q2 - 2 * q3) / (6 * dt), (2 * q0 - 5 * q1 + 4 * q2 - q3) / dt**2)

    def _derivatives_at_rest(self) -> bool:
        if len(self._history) < 3 or self._last is None:
            return True
        step = _REST_RADPS * self._period_s  # a generator ends with round-off motion (~1e-16): that is rest
        return bool(np.abs(self._last.q_rad - self._history[-1]).max() < step
                    and np.abs(self._history[-1] - self._history[-2]).max() < step)

    def _clamp_joints(self, cmd: JointCommand, ref: FloatArray, dt_s: float) -> tuple[FloatArray, FloatArray]:
        """Positions inside the margin, velocities and per-period steps inside the hard limits."""
        q = np.clip(cmd.q_rad, self.q_lo, self.q_hi)
        if np.any(q != cmd.q_rad):
            self._record("joint_limit", f"q clamped by {np.round(np.abs(q - cmd.q_rad), 4).tolist()} rad")
        dq = np.clip(cmd.dq_radps, -panda.DQ_MAX_RADPS, panda.DQ_MAX_RADPS)
        if np.any(dq != cmd.dq_radps):
            self._record("joint_velocity", f"dq {np.round(cmd.dq_radps, 3).tolist()} clamped to the hard limit")
        step, max_step = q - ref, panda.DQ_MAX_RADPS * dt_s
        ratio = float(np.max(np.abs(step) / max_step))
        if ratio > 1.0:  # a position jump implies a velocity too: shrink it, keeping its direction
            self._record("joint_step", f"step {np.round(step, 4).tolist()} rad is {ratio:.1f}x the velocity limit")
            q = ref + step / ratio
        return q, dq

    def _refuse_singular(self, cond: float, ref_cond: float) -> bool:
        # Only motion *toward* the singularity is stopped, so a robot that is already there can leave.
        if cond > self.config.singularity_halt_cond and cond > ref_cond:
            halt = self.config.singularity_halt_cond
            self._record("singularity_halt", f"Jacobian condition number {cond:.1f} > {halt}")
            return True
        return False

    def _slow_near_singularity(
        self, q: FloatArray, dq: FloatArray, ref: FloatArray, cond: float, ref_cond: float
    ) -> tuple[FloatArray, FloatArray, float]:
        """Between the slow and halt thresholds, scale the step toward the singularity down linearly."""
        cfg = self.config
        if cond > cfg.singularity_slow_cond and cond > ref_cond:
            scale = (cfg.singularity_halt_cond - cond) / (cfg.singularity_halt_cond - cfg.singularity_slow_cond)
            scale = float(np.clip(scale, 0.0, 1.0))
            self._record("singularity_slow", f"condition number {cond:.1f}: speed scaled by {scale:.2f}")
            q, dq = ref + scale * (q - ref), scale * dq
            cond = self._condition(q)
        return q, dq, cond

    def _refuse_cartesian(self, q: FloatArray, ref: FloatArray, dt_s: float) -> bool:
        p_new, p_ref = self._kinematics(q)[0][:3, 3], self._kinematics(ref)[0][:3, 3]
        outside_new, outside_ref = self.workspace_distance(p_new), self.workspace_distance(p_ref)
        # Outside the box, only motion that brings the TCP back toward it is let through.
        if outside_new > 0 and outside_new > outside_ref - 1e-9:
            self._record("workspace", f"TCP {np.round(p_new, 3).tolist()} m outside the workspace box")
            return True
        speed = float(np.linalg.norm(p_new - p_ref)) / dt_s
        if speed > self.config.max_ee_speed_mps:
            self._record("ee_speed", f"TCP speed {speed:.2f} m/s > {self.config.max_ee_speed_mps} m/s")
            return True
        return False

    def _limit_ff_ee_speed(self, q: FloatArray, dq: FloatArray) -> FloatArray:
        speed = float(np.linalg.norm(self._kinematics(q)[1][:3] @ dq))
        if speed > self.config.max_ee_speed_mps:
            self._record("ee_speed_ff", f"feed-forward TCP speed {speed:.2f} m/s scaled down")
            return dq * (self.config.max_ee_speed_mps / speed)
        return dq

    def _clamp_gripper(self, gripper_m: float) -> float:
        g = float(np.clip(gripper_m, 0.0, panda.GRIPPER_MAX_M))
        if g != gripper_m:
            self._record("gripper", f"gripper {gripper_m:.4f} m clamped to [0, {panda.GRIPPER_MAX_M}]")
        return g

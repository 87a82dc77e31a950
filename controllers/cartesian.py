"""`CartesianController`: chunk waypoints -> IK -> ruckig -> safety -> robot, at the control rate.

Each waypoint is solved warm-started from the previous solution (so consecutive solutions stay on
one IK branch), then given to ruckig as the next target with a pass-through velocity and a
minimum duration of the chunk's `dt_s`: the arm flows through the waypoints on the chunk's
schedule instead of stopping at each. Every sample goes through the `SafetyLayer`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from hvla.controllers.base import FollowResult
from hvla.controllers.ik import IkConfig, IkSolver
from hvla.controllers.registry import CONTROLLERS
from hvla.controllers.robot_model import PandaModel
from hvla.controllers.safety import SafetyConfig, SafetyEvent, SafetyLayer
from hvla.controllers.timing import pass_velocities, time_scale
from hvla.controllers.trajectory import JointTrajectory, TrajectoryConfig, TrajectorySample
from hvla.controllers.transforms import pose_error, pose_to_matrix
from hvla.core.errors import ConfigError, MessageError, SafetyError, UnreachableError
from hvla.core.messages import ActionChunk
from hvla.core.robot import JointCommand, Robot

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ControllerConfig:
    """IK, trajectory and safety settings, plus how chunks are executed."""

    ik: IkConfig = field(default_factory=IkConfig)
    trajectory: TrajectoryConfig = field(default_factory=TrajectoryConfig)
    safety: SafetyConfig = field(default_factory=SafetyConfig)
    ee_speed_fraction: float = 0.8  # waypoints are timed so the TCP stays under this x the safety limit
    max_joint_jump_rad: float = 1.5  # between consecutive waypoints; more means IK switched branch
    settle_s: float = 2.0  # with no duration given, time allowed past the chunk's schedule
    observe_every: int = 10  # control periods between state reads (reading costs more than commanding)
    # Final TCP error that counts as `reached`, measured as the trajectory ends (a physical arm's
    # servo lag of a few mm included; the perfect kinematic robot is within the IK tolerance).
    reach_tol_m: float = 5e-3
    reach_tol_rad: float = 0.05
    # Fractions of the trajectory's limits the waypoint timing plans with: headroom for ruckig's jerk limit.
    timing_velocity_fraction: float = 0.9
    timing_acceleration_fraction: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.ee_speed_fraction <= 1:
            raise ConfigError(f"ee_speed_fraction={self.ee_speed_fraction} must be in (0, 1]")
        if not self.max_joint_jump_rad > 0:
            raise ConfigError(f"max_joint_jump_rad={self.max_joint_jump_rad} must be > 0")
        if self.settle_s < 0:
            raise ConfigError(f"settle_s={self.settle_s} must be >= 0")
        if self.observe_every < 1:
            raise ConfigError(f"observe_every={self.observe_every} must be >= 1")
        if not (self.reach_tol_m > 0 and self.reach_tol_rad > 0):
            raise ConfigError("reach tolerances must be > 0")
        for name in ("timing_velocity_fraction", "timing_acceleration_fraction"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(f"{name}={getattr(self, name)} must be in (0, 1]")


@dataclass(frozen=True)
class _Waypoint:
    index: int  # in the chunk
    T_world_ee: FloatArray  # (4, 4) target
    q_rad: FloatArray  # (7,) IK solution
    scheduled_s: float  # the chunk's time slot (longer if the TCP speed limit asks): ruckig's minimum
    duration_s: float  # the slot stretched to the joint limits: sets the pass velocities and time budget
    gripper_m: float
    dq_pass_radps: FloatArray  # (7,) velocity to pass it with (zero at the last waypoint)


@dataclass
class _Run:
    """Book-keeping of one follow/hold call."""

    steps: int = 0
    estopped: bool = False
    events_before: int = 0
    refusals_before: int = 0


@CONTROLLERS.register("cartesian", config=ControllerConfig)
class CartesianController:
    """The classical controller: pinocchio IK, ruckig trajectories, a safety layer."""

    def __init__(self, config: ControllerConfig | None = None, model: PandaModel | None = None) -> None:
        self.config = config or ControllerConfig()
        self.model = model or PandaModel()
        self.ik = IkSolver(self.model, self.config.ik)
        self.safety = SafetyLayer(self.model, self.config.safety)
        self._traj: JointTrajectory | None = None
        self._gripper_m: float | None = None  # last commanded opening
        self._t_now_s = 0.0  # robot time: read at each state read, advanced by a period per command
        self._t_expected_s: float | None = None  # robot time of the next command if none is late

    # --- Controller interface ---------------------------------------------------------------

    def follow(self, chunk: ActionChunk, robot: Robot, duration_s: float | None = None) -> FollowResult:
        """Execute `chunk` on `robot`; see `hvla.controllers.base.Controller.follow`."""
        if duration_s is not None and not duration_s > 0:
            raise ConfigError(f"duration_s={duration_s} must be > 0")
        q_now = self._sync(robot)
        traj = self._trajectory(robot)
        # Executing only the chunk's head (receding horizon), the next chunk takes over before its
        # end: planning to stop there would slow the whole motion.
        end_at_rest = duration_s is None or duration_s >= len(chunk) * chunk.dt_s
        seed = traj.target_q_rad if not traj.done else q_now
        waypoints, skipped = self._plan(chunk, seed, traj.sample(), end_at_rest)
        dt = robot.control_dt_s
        if duration_s is None:
            duration_s = sum(w.duration_s for w in waypoints) + self.config.settle_s
        budget = max(1, round(duration_s / dt))
        run = self._start_run()
        issued = 0
        for wp in waypoints:
            # The minimum is the schedule, not the stretched plan: behind schedule (starting from
            # rest, receding horizon), ruckig may catch up with its full limits.
            traj.set_target(wp.q_rad, wp.dq_pass_radps, wp.scheduled_s)
            issued += 1
            self._gripper_m = wp.gripper_m
            q_now = self._stream(robot, run, q_now, budget, until_done=True, target=wp)
            if run.estopped or run.steps >= budget:
                break
        return self._finish(robot, run, waypoints[-1].T_world_ee, skipped, all_issued=issued == len(waypoints))

    def hold(self, robot: Robot, duration_s: float) -> FollowResult:
        """Brake to rest (jerk-limited, at the planning limits) and keep the position for `duration_s`,
        or for as long as the braking takes: a hold never returns with the arm still moving."""
        if not duration_s > 0:
            raise ConfigError(f"duration_s={duration_s} must be > 0")
        q_now = self._sync(robot)
        traj = self._trajectory(robot)
        traj.stop()
        if self._gripper_m is None:
            self._gripper_m = robot.observe(cameras=()).proprio.gripper_m
        run = self._start_run()
        budget = max(1, round(duration_s / robot.control_dt_s))
        q_now = self._stream(robot, run, q_now, budget, until_done=False, target=None)
        limit = budget + round(self.config.settle_s / robot.control_dt_s)
        while not run.estopped and not (traj.done and self.safety.at_rest) and run.steps < limit:
            q_now = self._stream(robot, run, q_now, run.steps + 1, until_done=False, target=None)
        T_final = self.model.fk(traj.sample().q_rad)
        return self._finish(robot, run, T_final, [], all_issued=True)

    def estop(self, reason: str = "software e-stop") -> None:
        self.safety.estop(reason)

    def reset_estop(self) -> None:
        """The operator's reset; refused (SafetyError) while the arm is still braking."""
        self.safety.reset_estop()
        self._traj = None  # restart from the measured state, not the abandoned plan

    @property
    def estopped(self) -> bool:
        """The e-stop is latched: every command is a stop, then a hold, until `reset_estop`."""
        return self.safety.estopped

    @property
    def estop_reason(self) -> str:
        return self.safety.estop_reason

    # --- planning ---------------------------------------------------------------------------

    def _plan(
        self, chunk: ActionChunk, q_seed: FloatArray, start: TrajectorySample, end_at_rest: bool = True
    ) -> tuple[list[_Waypoint], list[tuple[int, str]]]:
        """IK for every waypoint (unreachable ones skipped and reported), then timing.

        Raises:
            UnreachableError: when no waypoint is reachable (carries the first failure).
        """
        solved: list[tuple[int, FloatArray, FloatArray, float]] = []  # index, T, q, scheduled duration
        skipped: list[tuple[int, str]] = []
        first_error: UnreachableError | None = None
        q_prev, p_prev, i_prev = q_seed, self.model.fk(start.q_rad)[:3, 3], -1
        max_speed = self.config.ee_speed_fraction * self.config.safety.max_ee_speed_mps
        for i in range(len(chunk)):
            T = pose_to_matrix(chunk.ee_targets[i])
            try:
                # Once the chain has started, only warm starts count: a random restart lands on
                # another IK branch, which the joint-jump check would reject anyway.
                q = self.ik.solve(T, q_prev, restarts=0 if solved else None)
            except UnreachableError as err:
                first_error = first_error or err
                skipped.append((i, f"IK: {err}"))
                continue
            reason, residual_m = self._reject(T, q, q_prev, first=not solved)
            if reason:
                first_error = first_error or UnreachableError(chunk.ee_targets[i], residual_m, float("nan"))
                skipped.append((i, reason))
                continue
            # On the chunk's schedule (skipped waypoints keep their slot), unless too fast for the TCP.
            distance = float(np.linalg.norm(T[:3, 3] - p_prev))
            solved.append((i, T, q, max((i - i_prev) * chunk.dt_s, distance / max_speed)))
            q_prev, p_prev, i_prev = q, T[:3, 3], i
        if not solved:
            assert first_error is not None  # every skipped waypoint set it
            raise first_error
        return self._timed(solved, start, chunk.gripper_m, end_at_rest), skipped

    def _timed(
        self,
        solved: list[tuple[int, FloatArray, FloatArray, float]],
        start: TrajectorySample,
        gripper_m: FloatArray,
        end_at_rest: bool,
    ) -> list[_Waypoint]:
        """Stretch the schedule to what the joint limits allow; derive pass-through velocities."""
        cfg, tcfg = self.config, self.config.trajectory
        q_wp = np.array([q for _, _, q, _ in solved])
        durations = time_scale(
            start.q_rad,
            start.dq_radps,
            q_wp,
            [d for *_, d in solved],
            cfg.timing_velocity_fraction * tcfg.max_velocity_radps,
            cfg.timing_acceleration_fraction * tcfg.max_acceleration_radps2,
            end_at_rest,
        )
        dq_pass = pass_velocities(start.q_rad, q_wp, durations, end_at_rest)
        return [
            _Waypoint(i, T, q, slot, float(d), float(gripper_m[i]), v)
            for (i, T, q, slot), d, v in zip(solved, durations, dq_pass)
        ]

    def _reject(self, T: FloatArray, q: FloatArray, q_prev: FloatArray, first: bool) -> tuple[str, float]:
        """Why a solved waypoint must still be skipped ('' when it is fine), and how far off [m]."""
        outside_m = self.safety.workspace_distance(T[:3, 3])
        if outside_m > 0:
            where = np.round(T[:3, 3], 3).tolist()
            return f"target {where} m is {outside_m:.3f} m outside the workspace box", outside_m
        jump = float(np.abs(q - q_prev).max())
        if not first and jump > self.config.max_joint_jump_rad:
            return f"IK solution jumps {jump:.2f} rad from the previous waypoint (branch switch)", float("nan")
        return "", 0.0

    # --- streaming --------------------------------------------------------------------------

    def _stream(
        self, robot: Robot, run: _Run, q_now: FloatArray, budget: int, until_done: bool, target: _Waypoint | None
    ) -> FloatArray:
        """Send samples until the trajectory reaches its target (or for the whole budget)."""
        traj, dt = self._trajectory(robot), robot.control_dt_s
        while run.steps < budget:
            if self.safety.estopped:
                self._send_estop_hold(robot, run)
                return q_now
            if run.steps % self.config.observe_every == 0:
                obs = robot.observe(cameras=())
                q_now, self._t_now_s = obs.proprio.q_rad, obs.t_s
            sample = traj.step()
            try:
                cmd = JointCommand(sample.q_rad, sample.dq_radps, float(self._gripper_m))
            except MessageError as err:  # a NaN from the generator must stop the arm, not pass
                self.safety.estop(f"trajectory produced an invalid sample: {err}")
                self._send_estop_hold(robot, run)
                raise SafetyError(f"trajectory produced an invalid sample: {err}") from err
            safe = self.safety.check(cmd, q_now, self._since_last_command(dt))
            robot.command(safe)
            run.steps += 1
            if not np.array_equal(safe.q_rad, cmd.q_rad):
                self._replan_from(safe, target)  # the robot goes where safety sent it, not where ruckig is
            if until_done and traj.done:
                break
        return q_now

    def _send_estop_hold(self, robot: Robot, run: _Run) -> None:
        """Commands through the engaged e-stop until the arm is at rest: the safety layer turns each into
        the next sample of its category-1 stop, then a hold. The robot keeps tracking that hold after
        `follow` returns."""
        dt = robot.control_dt_s
        gripper = float(self._gripper_m) if self._gripper_m is not None else robot.observe(()).proprio.gripper_m
        limit = run.steps + round(5.0 / dt)  # from full speed a stop takes well under a second
        while True:
            obs = robot.observe(cameras=())
            q_now, self._t_now_s = obs.proprio.q_rad, obs.t_s
            robot.command(self.safety.check(JointCommand(q_now, np.zeros(7), gripper), q_now,
                                            self._since_last_command(dt)))
            run.steps += 1
            if self.safety.at_rest or run.steps >= limit:
                break
        run.estopped = True
        self._traj = None  # after reset_estop, start again from the measured state

    def _since_last_command(self, dt_s: float) -> float:
        """Time [s] since the previous command, for the command about to be sent: the control period, or
        more when the sender went silent (the safety layer's watchdog reads it). Advances the clock."""
        late_s = 0.0 if self._t_expected_s is None else self._t_now_s - self._t_expected_s
        self._t_expected_s = self._t_now_s + dt_s
        self._t_now_s += dt_s
        return dt_s + late_s if late_s > 0.5 * dt_s else dt_s

    def _replan_from(self, safe: JointCommand, target: _Waypoint | None) -> None:
        """Continue the trajectory from the command actually sent (a clamp, a filtered step, a stop)."""
        traj = self._traj
        assert traj is not None
        goal = traj.target_q_rad
        state = self.safety.state
        if state is None:
            traj.reset(safe.q_rad, safe.dq_radps)
        else:
            traj.reset(*state)
        if target is not None:
            traj.set_target(goal)

    # --- helpers ----------------------------------------------------------------------------

    def _trajectory(self, robot: Robot) -> JointTrajectory:
        if self._traj is None or self._traj.config.control_dt_s != robot.control_dt_s:
            # Ruckig's period must be the robot's, or its limits are wrong by the ratio.
            cfg = dataclasses.replace(self.config.trajectory, control_dt_s=robot.control_dt_s)
            self._traj = JointTrajectory(cfg, robot.observe(cameras=()).proprio.q_rad)
        return self._traj

    def _sync(self, robot: Robot) -> FloatArray:
        """Measured q; the trajectory restarts from it unless it continues the last command."""
        obs = robot.observe(cameras=())
        proprio, self._t_now_s = obs.proprio, obs.t_s
        traj = self._trajectory(robot)
        # Moved by hand, or a new episode: a new stream starts from the measured state. Not while the e-stop
        # is latched: its stop continues the stream as sent, whatever the (possibly broken) measurement says.
        if np.abs(traj.sample().q_rad - proprio.q_rad).max() > 0.05 and not self.safety.estopped:
            traj.reset(proprio.q_rad, proprio.dq_radps)
            self.safety.reset()
        if self._gripper_m is None:
            self._gripper_m = proprio.gripper_m
        return proprio.q_rad

    def _start_run(self) -> _Run:
        return _Run(events_before=sum(self.safety.counts.values()), refusals_before=self.safety.refusals())

    def _finish(
        self, robot: Robot, run: _Run, T_goal: FloatArray, skipped: list[tuple[int, str]], all_issued: bool
    ) -> FollowResult:
        if self.safety.estopped and not run.estopped:  # engaged during the last period of the budget
            self._send_estop_hold(robot, run)
        q = robot.observe(cameras=()).proprio.q_rad
        err_m, err_rad = pose_error(self.model.fk(q), T_goal)
        reached = all_issued and err_m <= self.config.reach_tol_m and err_rad <= self.config.reach_tol_rad
        return FollowResult(
            steps=run.steps,
            reached=bool(reached and not run.estopped),
            unreachable=tuple(i for i, _ in skipped),
            skip_reasons=tuple(r for _, r in skipped),
            events=self._events_since(run.events_before),
            refusals=self.safety.refusals() - run.refusals_before,
            final_error_m=err_m,
            final_error_rad=err_rad,
            estopped=run.estopped,
        )

    def _events_since(self, before: int) -> tuple[SafetyEvent, ...]:
        new = sum(self.safety.counts.values()) - before
        events = list(self.safety.events)
        return tuple(events[-new:]) if new > 0 else ()

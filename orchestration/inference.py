"""Sense-act inference for the executor's loop: in line, or overlapped with the controllers' execution.

Synchronous (`ExecutorConfig.inference="sync"`, the default): each tick perceives the observation just taken,
the policy acts on it, then the controllers execute the chunk for one period. The arm waits for both.

Asynchronous ("async"), as LeRobot's async inference and real-time chunking do: while the controllers execute
one period, a worker thread perceives the observation taken at its start and the policy computes the next
chunk from it. That chunk is one period old when its execution starts, so it is aligned first (`align`): its
waypoint k targets (k + 1) dt after the observation, and the ones whose time has passed are dropped. The
controllers always run the newest chunk, aligned by its age. ONNX Runtime and MuJoCo release the GIL, so on
two cores the detector really runs beside the physics and the controllers.

Real time (`ExecutorConfig.realtime`): the loop is paced to the wall clock (the simulator waits for it; a
robot would not) and every tick has a deadline, the end of its period. A tick that ends after its deadline is
a missed deadline, and the schedule restarts from it (one overrun is one miss, not every tick after it); in
async mode so is a chunk not ready when its period begins, and then the controllers go on with the rest of
the chunk they have (what chunking is for) rather than wait. Both are counted (`Deadlines`) and reported as
events.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from hvla.core.errors import ConfigError
from hvla.core.messages import ActionChunk, Observation, Scene
from hvla.perception.base import Perception
from hvla.skills.base import SkillPolicy

INFERENCE_MODES = ("sync", "async")


@dataclass(frozen=True)
class Inference:
    """One perceive + act: the scene and chunk computed from the observation taken at `t_obs_s`."""

    t_obs_s: float
    scene: Scene
    chunk: ActionChunk
    compute_s: float  # wall seconds perceive + act took


def align(chunk: ActionChunk, age_s: float) -> ActionChunk | None:
    """`chunk` executed `age_s` after the observation it was computed from: the waypoints whose time has
    passed dropped (waypoint k targets (k + 1) dt after the observation). None when none is left."""
    if age_s < 0:
        raise ConfigError(f"a chunk cannot be executed before its observation (age {age_s:g} s)")
    passed = int(age_s / chunk.dt_s + 1e-6)
    if passed == 0:
        return chunk
    if passed >= len(chunk):
        return None
    return ActionChunk(chunk.ee_targets[passed:], chunk.gripper_m[passed:], chunk.confidence, chunk.dt_s)


def last_waypoint(chunk: ActionChunk) -> ActionChunk:
    """Only the chunk's final target: what to hold when all of it is in the past (never its stale start)."""
    return ActionChunk(chunk.ee_targets[-1:], chunk.gripper_m[-1:], chunk.confidence, chunk.dt_s)


class SenseAct:
    """Perceive then act, on the calling thread (`compute`) or on one worker thread (`submit` / `collect`).

    One computation is in flight at a time: the perception's tracker and the policy's history are stateful
    and see observations in order. `drain` waits for it before anything else may use either."""

    def __init__(self, perception: Perception, policy: SkillPolicy, asynchronous: bool) -> None:
        self.perception = perception
        self.policy = policy
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="hvla-sense-act") if asynchronous else None
        self._pending: Future[Inference] | None = None

    def compute(self, obs: Observation) -> Inference:
        t0 = time.perf_counter()
        scene = self.perception.perceive(obs)
        chunk = self.policy.act(scene, obs.proprio)
        return Inference(obs.t_s, scene, chunk, time.perf_counter() - t0)

    def act(self, obs: Observation, scene: Scene) -> Inference:
        """The chunk for a scene already perceived (a subgoal's first tick)."""
        t0 = time.perf_counter()
        return Inference(obs.t_s, scene, self.policy.act(scene, obs.proprio), time.perf_counter() - t0)

    @property
    def busy(self) -> bool:
        return self._pending is not None

    def submit(self, obs: Observation) -> None:
        if self._pool is None:
            raise ConfigError("submit needs an asynchronous SenseAct")
        if self._pending is not None:
            raise ConfigError("a sense-act computation is already in flight; collect it first")
        self._pending = self._pool.submit(self.compute, obs)

    def ready(self, timeout_s: float = 0.0) -> bool:
        """Whether the computation in flight has finished, waiting up to `timeout_s` for it."""
        if self._pending is None:
            return False
        done, _ = wait([self._pending], timeout=max(timeout_s, 0.0))
        return bool(done)

    def collect(self) -> Inference:
        """The computation in flight, waited for; its exception (a perception or policy error) is raised here."""
        if self._pending is None:
            raise ConfigError("no sense-act computation in flight")
        pending, self._pending = self._pending, None
        return pending.result()

    def drain(self) -> None:
        """Wait for the computation in flight and drop it (the attempt ended: its result is for nobody)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.exception()

    def close(self) -> None:
        self.drain()
        if self._pool is not None:
            self._pool.shutdown(wait=True)


@dataclass
class Deadlines:
    """Real-time bookkeeping: the loop paced to the wall clock, ticks late against it counted."""

    period_s: float
    ticks: int = 0
    missed: int = 0
    worst_late_s: float = 0.0
    late_chunks: int = 0  # async: the next chunk was not ready when its period began
    _wall0: float = field(default=0.0, repr=False)
    _sim0: float = field(default=0.0, repr=False)

    def start(self, t_sim_s: float) -> None:
        self._wall0, self._sim0 = time.perf_counter(), t_sim_s

    def wall_deadline(self, t_sim_s: float) -> float:
        """The wall-clock time (perf_counter) simulated time `t_sim_s` is due."""
        return self._wall0 + (t_sim_s - self._sim0)

    def until(self, t_sim_s: float) -> float:
        """Wall seconds left before simulated time `t_sim_s` is due (negative: late)."""
        return self.wall_deadline(t_sim_s) - time.perf_counter()

    def tick_done(self, t_sim_s: float) -> float | None:
        """A tick ended at simulated `t_sim_s`: wait for the wall clock to catch up, or count it late.
        Returns how late it was (s), None when on time."""
        self.ticks += 1
        late = -self.until(t_sim_s)
        if late <= 0:
            time.sleep(-late)
            return None
        self.missed += 1
        self.worst_late_s = max(self.worst_late_s, late)
        self._wall0 += late  # the schedule restarts from now: one overrun is one miss, not every tick after it
        return late

    def chunk_late(self) -> None:
        self.missed += 1
        self.late_chunks += 1

    def summary(self) -> dict[str, float]:
        return {"ticks": self.ticks, "missed": self.missed, "late_chunks": self.late_chunks,
                "worst_late_ms": round(1e3 * self.worst_late_s, 1)}

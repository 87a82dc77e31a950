"""Turns a `KitchenLayout` into a MuJoCo model with MjSpec: table, dirt patch, sink, objects, cameras.

World frame: origin at the robot base on the table top, x forward, y left, z up.
"""

from __future__ import annotations

import mujoco
import numpy as np

from hvla.sim.objects import CLASSES, ObjectClass, object_extent_m
from hvla.sim.panda import HAND_BODY, build_panda_spec
from hvla.sim.scene import SINK_CENTER_M, SINK_SIZE_M, KitchenLayout, ObjectSpec

DIRT_CELLS = (8, 10)  # cells along x, y; the wiped fraction is counted per cell
SCENE_CAMERA = "scene"
WRIST_CAMERA = "wrist"
SCENE_CAMERA_POS_M = np.array([1.1, 0.0, 0.7])
SCENE_CAMERA_TARGET_M = np.array([0.42, 0.0, 0.0])
_FRUIT_FRICTION = [1.0, 0.01, 0.001]


def look_at_quat(pos: np.ndarray, target: np.ndarray, up: np.ndarray | None = None) -> np.ndarray:
    """Quaternion (wxyz) of a MuJoCo camera at `pos` looking at `target` (cameras look along -z)."""
    up = np.array([0.0, 0.0, 1.0]) if up is None else up
    fwd = (target - pos) / np.linalg.norm(target - pos)
    x = np.cross(fwd, up)
    x /= np.linalg.norm(x)
    y = np.cross(-fwd, x)
    mat = np.column_stack([x, y, -fwd])
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, mat.flatten())
    return quat


def _rot_quat(axis: np.ndarray, angle: float) -> np.ndarray:
    quat = np.zeros(4)
    mujoco.mju_axisAngle2Quat(quat, np.asarray(axis, float), float(angle))
    return quat


def build_kitchen_spec(layout: KitchenLayout) -> mujoco.MjSpec:
    spec = build_panda_spec()
    spec.modelname = f"kitchen_{layout.seed}"
    spec.option.timestep = 0.002
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    spec.option.cone = mujoco.mjtCone.mjCONE_ELLIPTIC
    spec.option.impratio = 10.0
    spec.visual.quality.shadowsize = 0
    spec.visual.quality.offsamples = 0
    spec.visual.global_.offwidth = 640
    spec.visual.global_.offheight = 480
    spec.visual.headlight.ambient = [0.3, 0.3, 0.3]
    spec.visual.headlight.diffuse = [0.2, 0.2, 0.2]
    world = spec.worldbody
    world.add_light(
        name="sun", dir=list(layout.light_dir), pos=[0.4, 0.0, 2.0], castshadow=False,
        diffuse=[layout.light_diffuse] * 3, type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL,
    )
    world.add_geom(
        name="table", type=mujoco.mjtGeom.mjGEOM_BOX, size=[0.65, 0.95, 0.02], pos=[0.4, 0.0, -0.02],
        rgba=[*layout.table_rgb, 1.0], friction=[0.8, 0.005, 0.0001],
    )
    world.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[3.0, 3.0, 0.05], pos=[0.4, 0.0, -0.75],
                   rgba=[0.45, 0.42, 0.4, 1.0])
    _add_dirt(spec, layout)
    _add_sink(spec)
    for obj in layout.objects:
        _add_object(spec, obj)
    _add_cameras(spec, layout)
    return spec


def _add_dirt(spec: mujoco.MjSpec, layout: KitchenLayout) -> None:
    """A grid of flat, non-colliding cells; each turns invisible once the sponge has covered it."""
    body = spec.worldbody.add_body(name="dirt", pos=[*layout.dirt_center_m, 0.0])
    nx, ny = DIRT_CELLS
    sx, sy = layout.dirt_size_m
    for i in range(nx):
        for j in range(ny):
            body.add_geom(
                name=f"dirt_{i}_{j}", type=mujoco.mjtGeom.mjGEOM_BOX,
                size=[sx / nx / 2, sy / ny / 2, 0.0005],
                pos=[-sx / 2 + (i + 0.5) * sx / nx, -sy / 2 + (j + 0.5) * sy / ny, 0.0005],
                rgba=[0.35, 0.25, 0.12, 1.0], contype=0, conaffinity=0, group=1,
            )


def _add_sink(spec: mujoco.MjSpec) -> None:
    body = spec.worldbody.add_body(name="sink", pos=[*SINK_CENTER_M, 0.0])
    sx, sy = SINK_SIZE_M[0] / 2, SINK_SIZE_M[1] / 2
    metal = [0.6, 0.62, 0.66, 1.0]
    body.add_geom(name="sink/floor", type=mujoco.mjtGeom.mjGEOM_BOX, size=[sx, sy, 0.002],
                  pos=[0, 0, 0.002], rgba=metal)
    for k, (px, py, hx, hy) in enumerate(
        [(sx, 0, 0.006, sy), (-sx, 0, 0.006, sy), (0, sy, sx, 0.006), (0, -sy, sx, 0.006)]
    ):
        body.add_geom(name=f"sink/wall{k}", type=mujoco.mjtGeom.mjGEOM_BOX, size=[hx, hy, 0.025],
                      pos=[px, py, 0.025], rgba=metal)


def _add_object(spec: mujoco.MjSpec, obj: ObjectSpec) -> None:
    cls = CLASSES[obj.label]
    height = object_extent_m(cls, obj.scale)[2]
    body = spec.worldbody.add_body(
        name=obj.name, pos=[obj.xy_m[0], obj.xy_m[1], height / 2 + 0.0005],
        quat=_rot_quat(np.array([0, 0, 1.0]), obj.yaw_rad),
    )
    body.add_freejoint(name=f"{obj.name}/free")
    geoms = _object_geoms(body, cls, obj.scale, [*obj.rgb, 1.0], obj.name)
    for g in geoms:
        g.mass = cls.mass_kg / len(geoms)


def _object_geoms(
    body: mujoco.MjsBody, cls: ObjectClass, scale: float, rgba: list[float], name: str
) -> list[mujoco.MjsGeom]:
    s = np.array(cls.size) * scale
    G = mujoco.mjtGeom
    # Round shapes need rolling friction (condim 6), or a placed apple rolls off the plate.
    condim = 6 if cls.shape in ("sphere", "capsule", "ellipsoid") else 4
    common = {"rgba": rgba, "friction": _FRUIT_FRICTION, "condim": condim}
    if cls.shape == "capsule":  # long axis along body x
        quat = _rot_quat(np.array([0, 1.0, 0]), np.pi / 2)
        return [body.add_geom(name=f"{name}/g0", type=G.mjGEOM_CAPSULE, size=[s[0], s[1], 0], quat=quat,
                              **common)]
    if cls.shape == "sphere":
        return [body.add_geom(name=f"{name}/g0", type=G.mjGEOM_SPHERE, size=[s[0], 0, 0], **common)]
    if cls.shape == "ellipsoid":
        return [body.add_geom(name=f"{name}/g0", type=G.mjGEOM_ELLIPSOID, size=list(s[:3]), **common)]
    if cls.shape == "box":
        return [body.add_geom(name=f"{name}/g0", type=G.mjGEOM_BOX, size=list(s[:3]), **common)]
    if cls.shape == "plate":
        return [body.add_geom(name=f"{name}/g0", type=G.mjGEOM_CYLINDER, size=[s[0], s[1], 0], **common)]
    return _vessel_geoms(body, s[0], s[1], rgba, name, segments=12 if cls.shape == "bowl" else 10)


def _vessel_geoms(
    body: mujoco.MjsBody, radius: float, height: float, rgba: list[float], name: str, segments: int
) -> list[mujoco.MjsGeom]:
    """An open vessel: a floor disc and a ring of wall slabs; the body origin is at half height."""
    G = mujoco.mjtGeom
    wall = 0.005
    geoms = [body.add_geom(name=f"{name}/floor", type=G.mjGEOM_CYLINDER, size=[radius - wall, 0.004, 0],
                           pos=[0, 0, -height / 2 + 0.004], rgba=rgba)]
    half_chord = radius * np.tan(np.pi / segments) + wall * 0.5
    for k in range(segments):
        a = 2 * np.pi * k / segments
        geoms.append(body.add_geom(
            name=f"{name}/wall{k}", type=G.mjGEOM_BOX, size=[wall, half_chord, height / 2],
            pos=[(radius - wall) * np.cos(a), (radius - wall) * np.sin(a), 0.0],
            quat=_rot_quat(np.array([0, 0, 1.0]), a), rgba=rgba,
        ))
    return geoms


def _add_cameras(spec: mujoco.MjSpec, layout: KitchenLayout) -> None:
    pos = SCENE_CAMERA_POS_M + np.array(layout.camera_offset_m)
    target = SCENE_CAMERA_TARGET_M + np.array([0.0, layout.camera_tilt_rad[0], layout.camera_tilt_rad[1]])
    spec.worldbody.add_camera(name=SCENE_CAMERA, pos=pos, quat=look_at_quat(pos, target), fovy=55.0)
    # Wrist camera on the hand, behind the fingers, tilted to look at the space between them.
    hand = spec.body(HAND_BODY)
    cam_pos = np.array([0.07, 0.0, 0.03])
    hand.add_camera(
        name=WRIST_CAMERA, pos=cam_pos, quat=look_at_quat(cam_pos, np.array([0.0, 0.0, 0.16]),
                                                         up=np.array([1.0, 0, 0])), fovy=75.0,
    )

"""Offscreen rendering of MuJoCo cameras into `CameraFrame`s: RGB, depth [m], segmentation, K, pose.

Rendering goes through Mesa's software rasteriser here, so the cost is set by triangles and effects:
shadows and multisampling are off in the model, and only the views a consumer asks for are drawn.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from hvla.core.messages import CameraFrame, CameraInfo

# OpenCV camera (x right, y down, z forward) from MuJoCo's (x right, y up, looking along -z).
_CV_FROM_MJ = np.diag([1.0, -1.0, -1.0])


def _ensure_gl_backend() -> None:
    """Headless rendering: EGL, or OSMesa where no EGL library exists.

    MuJoCo picks its GL backend when it is first imported. `import hvla` sets MUJOCO_GL first, but a
    script may import mujoco before hvla; then, with no display, switch the backend here.
    """
    import ctypes.util

    from mujoco.rendering.classic import gl_context

    chosen = getattr(gl_context, "_MUJOCO_GL", "")
    if chosen in ("egl", "osmesa") or os.environ.get("DISPLAY"):
        return
    backend = "egl" if ctypes.util.find_library("EGL") else "osmesa"
    os.environ["MUJOCO_GL"] = backend
    os.environ.setdefault("PYOPENGL_PLATFORM", backend)
    if backend == "egl":
        from mujoco.egl import GLContext
    else:
        from mujoco.osmesa import GLContext
    gl_context.GLContext = GLContext
    gl_context._MUJOCO_GL = backend


class CameraRig:
    """Renders named cameras of one model/data pair at a fixed size."""

    def __init__(self, model, data, height: int, width: int) -> None:
        _ensure_gl_backend()
        # Mesa's llvmpipe maps libLLVM; triton (GPU-only, pulled in by torch) bundles another LLVM and
        # segfaults when it loads second. Once this process renders, hide triton from later torch imports.
        sys.modules.setdefault("triton", None)  # type: ignore[arg-type]
        import mujoco

        self._mujoco = mujoco
        self.model, self.data = model, data
        self.height, self.width = height, width
        self._renderer = mujoco.Renderer(model, height=height, width=width)
        self._option = mujoco.MjvOption()
        self._option.geomgroup[:] = 1
        # Segmentation ids are geom ids; map each to its object index (-1 = not an object).
        self.geom_to_object = np.full(model.ngeom + 1, -1, dtype=np.int32)

    def set_object_bodies(self, body_ids: list[int]) -> None:
        lookup = {b: i for i, b in enumerate(body_ids)}
        for g in range(self.model.ngeom):
            self.geom_to_object[g] = lookup.get(int(self.model.geom_bodyid[g]), -1)

    def info(self, camera: str) -> CameraInfo:
        cam = self.model.camera(camera)
        fovy = np.deg2rad(float(cam.fovy[0]))
        f = 0.5 * self.height / np.tan(0.5 * fovy)
        K = np.array([[f, 0, self.width / 2], [0, f, self.height / 2], [0, 0, 1.0]])
        T = np.eye(4)
        dcam = self.data.camera(camera)
        T[:3, :3] = dcam.xmat.reshape(3, 3) @ _CV_FROM_MJ
        T[:3, 3] = dcam.xpos
        return CameraInfo(camera, K, T, self.width, self.height)

    def render(self, camera: str, segmentation: bool = False) -> CameraFrame:
        r = self._renderer
        r.update_scene(self.data, camera=camera, scene_option=self._option)
        rgb = r.render().copy()
        r.enable_depth_rendering()
        r.update_scene(self.data, camera=camera, scene_option=self._option)
        depth = r.render().astype(np.float32)
        r.disable_depth_rendering()
        seg = None
        if segmentation:
            r.enable_segmentation_rendering()
            r.update_scene(self.data, camera=camera, scene_option=self._option)
            raw = r.render()
            r.disable_segmentation_rendering()
            geom_ids = np.where(raw[..., 1] == int(self._mujoco.mjtObj.mjOBJ_GEOM), raw[..., 0], -1)
            seg = self.geom_to_object[geom_ids]
        depth[depth > 10.0] = np.nan  # background: no return
        return CameraFrame(self.info(camera), rgb, depth, seg)

    def close(self) -> None:
        self._renderer.close()

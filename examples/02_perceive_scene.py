"""02 - Perception: render the kitchen's two cameras and list the object tokens the oracle reports.

`KitchenWorld(seed)` is a seeded tabletop: the same seed gives the same kitchen. `observe()` renders
the scene and wrist cameras headless (RGB, depth in metres, intrinsics and pose). Oracle perception
turns simulator truth into `ObjectToken`s, the same messages a learned detector produces.
Run: `.venv/bin/python examples/02_perceive_scene.py`  (writes runs/examples/02_scene_seed3.png)
"""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np

from hvla.perception.oracle import OraclePerception
from hvla.sim.world import KitchenWorld

SEED = 3

with KitchenWorld(seed=SEED) as world:
    obs = world.observe()  # both cameras; world.observe(()) would skip rendering
    print(f"kitchen seed {SEED} at t = {obs.t_s:.2f} s, {len(obs.frames)} cameras rendered")
    for name, frame in obs.frames.items():
        depth = frame.depth_m[np.isfinite(frame.depth_m)]
        fx = frame.info.K[0, 0]
        print(
            f"  camera {name:<6} rgb {frame.rgb.shape}, depth {depth.min():.2f}..{depth.max():.2f} m, "
            f"fx {fx:.1f} px, at {np.round(frame.info.T_world_cam[:3, 3], 2).tolist()} m"
        )

    scene = OraclePerception().perceive(obs)
    print(f"\n{len(scene.tokens)} object tokens (world frame):")
    print(f"  {'name':<12} {'label':<10} {'colour':<14} {'category':<11} {'position [m]'}")
    for tok in scene.tokens:
        pos = ", ".join(f"{v:+.3f}" for v in tok.position_m)
        print(f"  {tok.name:<12} {tok.label:<10} {tok.color_name:<14} {tok.category:<11} ({pos})")

    banana = scene.find("banana")
    hand = obs.proprio.ee_position_m
    if banana is not None:
        print(f"\nthe banana is {np.linalg.norm(banana.position_m - hand):.2f} m from the hand")

    out = Path("runs") / "examples"
    out.mkdir(parents=True, exist_ok=True)
    png = out / f"02_scene_seed{SEED}.png"
    iio.imwrite(png, obs.frames["scene"].rgb)
    print(f"scene camera image written to {png}")

"""Perception benchmark: detector quality, 3D token accuracy, tracking, novel objects, latency.

    .venv/bin/python benchmarks/perception.py                 # everything, ~10 min on 2 shared cores
    .venv/bin/python benchmarks/perception.py --scenes 20 --skip-map

Quality is measured on the test split (seeds 30000+, never trained on) and the novel split (40000+,
with a mango). mAP comes from ultralytics' validator on the rendered test split (`data/perception`,
made by `hvla perception dataset`); everything else runs `YoloPerception` itself on
freshly rendered views of the same seeds. Targets (issue 5): mask mAP50 >= 0.90, median 3D error
<= 1.0 cm, <= 20 ms per camera frame.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import defaultdict
from pathlib import Path

import mujoco
import numpy as np

from hvla.core import panda
from hvla.core.messages import Observation, Scene
from hvla.perception.calibrate import match
from hvla.perception.dataset import SPLIT_FIRST_SEED, DatasetConfig, ViewSampler, labelled_frames, scene_config
from hvla.perception.yolo import DETECTOR_REL, YoloConfig, YoloPerception
from hvla.sim.world import CAMERAS, KitchenWorld, SimConfig

KNOWN = ("banana", "apple", "lemon", "sponge", "block", "bowl", "cup", "plate")
VISIBLE_PX = 40  # an object counts as visible in a frame with at least this many pixels


def table(header: tuple[str, ...], rows: list[tuple]) -> None:
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for r in rows:
        print("| " + " | ".join(str(c) for c in r) + " |")
    print()


def map_metrics(data_yaml: Path) -> None:
    from hvla.core.artifacts import ARTIFACTS_DIR
    from hvla.perception.train import validate
    from hvla.perception.yolo import onnx_cache_path

    pt = ARTIFACTS_DIR / DETECTOR_REL
    rows = []
    for name, weights in (("torch (.pt)", pt), ("onnx", onnx_cache_path(pt, 224))):
        m = validate(weights, data_yaml, "test")
        rows.append((name, m["box_map50"], m["box_map50_95"], m["mask_map50"], m["mask_map50_95"]))
    print("## Detector on the test split (ultralytics val, 224 px)\n")
    table(("runtime", "box mAP50", "box mAP50-95", "mask mAP50", "mask mAP50-95"), rows)


def truth_name_of(scene: Scene, obs: Observation, name: str, radius_m: float = 0.05):
    """The token of `name`'s class (or a generic one) nearest to the object's true position."""
    assert obs.truth is not None
    obj = obs.truth.object(name)
    toks = [t for t in scene.tokens if t.label in (obj.label, "fruit", "object")]
    if not toks:
        return None
    tok = min(toks, key=lambda t: np.linalg.norm(t.position_m - obj.position_m))
    return tok if np.linalg.norm(tok.position_m - obj.position_m) < radius_m else None


def quality(perception: YoloPerception, n_scenes: int) -> dict[str, float]:
    """Recall per class, 3D position and yaw error, on views of test kitchens (printed; the totals returned)."""
    config = DatasetConfig(views_per_scene=3, image_sizes=(224,))
    hits, seen = defaultdict(int), defaultdict(int)
    pos_err, yaw_err = defaultdict(list), defaultdict(list)
    first = SPLIT_FIRST_SEED["test"]
    for seed in range(first, first + n_scenes):
        frames = list(labelled_frames(seed, "test", config))
        for k in range(0, len(frames), 2):  # one view = both cameras
            pair = frames[k:k + 2]
            dets = perception.detector([lf.frame.rgb for lf in pair])
            for lf, d in zip(pair, dets):
                matched = {name for name, _ in match(lf.instances, d)}
                for label, name, mask in lf.instances:
                    if mask.sum() >= VISIBLE_PX:
                        seen[label] += 1
                        hits[label] += name in matched
            obs = _observation(pair)
            perception.reset()
            scene = perception.perceive(obs)
            visible = {name for lf in pair for label, name, m in lf.instances if m.sum() >= VISIBLE_PX}
            for obj in pair[0].objects:
                if obj.name not in visible:
                    continue
                tok = truth_name_of(scene, obs, obj.name, radius_m=0.10)
                if tok is None:
                    continue
                pos_err[obj.label].append(float(np.linalg.norm(tok.position_m - obj.position_m)))
                if obj.label in ("banana", "sponge", "lemon"):
                    d = (tok.yaw_rad - obj.yaw_rad + np.pi / 2) % np.pi - np.pi / 2
                    yaw_err[obj.label].append(abs(np.rad2deg(d)))
    print(f"## Per-class recall (mask IoU >= 0.5, same class; objects with >= {VISIBLE_PX} px), "
          f"{n_scenes} test kitchens x 3 views x 2 cameras\n")
    labels = sorted(seen, key=lambda s: (s not in KNOWN, s))
    table(("class", "visible", "recall"), [(lb, seen[lb], f"{hits[lb] / seen[lb]:.3f}") for lb in labels])
    allerr = np.concatenate([v for v in pos_err.values()]) * 100
    print("## 3D position error of tokens vs ground truth [cm] (both cameras fused, fresh tracker per view)\n")
    rows = [(lb, len(v), f"{np.median(v) * 100:.2f}", f"{np.percentile(v, 90) * 100:.2f}",
             f"{np.median(yaw_err[lb]):.1f}" if yaw_err.get(lb) else "-") for lb, v in sorted(pos_err.items())]
    rows.append(("**all**", len(allerr), f"**{np.median(allerr):.2f}**", f"**{np.percentile(allerr, 90):.2f}**", ""))
    table(("class", "n", "median", "p90", "median yaw err [deg]"), rows)
    return {"recall": sum(hits.values()) / max(sum(seen.values()), 1),
            "err_median_cm": float(np.median(allerr)), "err_p90_cm": float(np.percentile(allerr, 90))}


def _observation(pair) -> Observation:
    """An Observation from one view's two labelled frames (the world is gone by now)."""
    from hvla.core.messages import Proprio, WorldTruth

    truth = WorldTruth(objects=pair[0].objects, grasped=None, wiped_fraction=0.0)
    proprio = Proprio(np.zeros(7), np.zeros(7), 0.08, np.eye(4))
    return Observation(0.0, proprio, {lf.frame.info.name: lf.frame for lf in pair}, truth)


def tracking(perception: YoloPerception, n_seqs: int, frames: int = 40) -> None:
    """ID switches while the arm sweeps over the table (occluding objects) and carries one of them."""
    switches, frame_count, lost = 0, 0, 0
    for seq in range(n_seqs):
        seed = SPLIT_FIRST_SEED["test"] + 500 + seq
        rng = np.random.default_rng(seed)
        with KitchenWorld(seed, scene_config("test"), SimConfig(image_height=224, image_width=224)) as world:
            sampler = ViewSampler(world, rng)
            path = _sweep(world, sampler, rng, frames)
            perception.reset()
            last: dict[str, int] = {}
            names = world.layout.names()
            carried = "banana" if "banana" in names else names[0]
            for i, q in enumerate(path):
                sampler.data.qpos[sampler.arm_qpos] = q
                if i >= frames // 2:  # second half: the banana rides in the hand
                    tcp = world.proprio().T_world_ee
                    sampler.set_body(carried, tcp[:3, 3], float(np.arctan2(tcp[1, 0], tcp[0, 0])))
                mujoco.mj_forward(world.model, world.data)
                obs = world.observe(CAMERAS)
                scene = perception.perceive(obs)
                frame_count += 1
                for name in names:
                    tok = truth_name_of(scene, obs, name, radius_m=0.06)
                    if tok is None:
                        lost += 1
                        continue
                    if name in last and last[name] != tok.track_id:
                        switches += 1
                    last[name] = tok.track_id
    print(f"## Tracking under occlusion ({n_seqs} sequences x {frames} frames at 10 Hz: the arm sweeps over the "
          "table, then carries the banana)\n")
    table(("frames", "id switches", "switches / 100 frames", "object-frames without a token"),
          [(frame_count, switches, f"{100 * switches / max(frame_count, 1):.2f}", lost)])


def _sweep(world: KitchenWorld, sampler: ViewSampler, rng: np.random.Generator, frames: int) -> list[np.ndarray]:
    """Joint-space path through hand poses above random objects, `frames` samples long."""
    qs = [panda.Q_READY_RAD]
    names = world.layout.names()
    while len(qs) < 5:
        target = str(rng.choice(names))
        T = np.eye(4)
        yaw = rng.uniform(-1, 1)
        c, s = np.cos(yaw), np.sin(yaw)
        T[:3, :3] = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.diag([1.0, -1.0, -1.0])
        T[:3, 3] = [*world.data.body(target).xpos[:2], rng.uniform(0.12, 0.25)]
        try:
            qs.append(sampler.ik.solve(T, qs[-1]))
        except Exception:
            continue
    s = np.linspace(0, len(qs) - 1, frames)
    return [qs[int(np.floor(x))] + (x - np.floor(x)) * (qs[min(int(np.floor(x)) + 1, len(qs) - 1)]
                                                       - qs[int(np.floor(x))]) for x in s]


def novel(perception: YoloPerception, n_scenes: int) -> None:
    """How the never-trained mango comes out: as a generic token, as a wrong known class, or not at all."""
    config = DatasetConfig(views_per_scene=3, image_sizes=(224,))
    counts = defaultdict(int)
    colors = defaultdict(int)
    first = SPLIT_FIRST_SEED["novel"]
    for seed in range(first, first + n_scenes):
        frames = list(labelled_frames(seed, "novel", config))
        for k in range(0, len(frames), 2):
            pair = frames[k:k + 2]
            if not any(name == "mango" and m.sum() >= VISIBLE_PX for lf in pair for _, name, m in lf.instances):
                continue
            obs = _observation(pair)
            perception.reset()
            scene = perception.perceive(obs)
            mango = obs.truth.object("mango")
            near = [t for t in scene.tokens if np.linalg.norm(t.position_m - mango.position_m) < 0.04]
            counts["visible"] += 1
            if not near:
                counts["missed"] += 1
                continue
            tok = min(near, key=lambda t: np.linalg.norm(t.position_m - mango.position_m))
            kind = "generic" if tok.label in ("fruit", "object") else f"as {tok.label}"
            counts[kind] += 1
            colors[tok.color_name] += 1
    n = max(counts["visible"], 1)
    print(f"## Novel object: the mango ({n_scenes} novel kitchens x 3 views, views where it is visible)\n")
    rows = [(k, v, f"{100 * v / n:.1f}") for k, v in sorted(counts.items()) if k != "visible"]
    detected = n - counts["missed"]
    rows.append(("**detected (any token at the mango)**", detected, f"**{100 * detected / n:.1f}**"))
    table(("outcome", "views", "%"), rows)
    print(f"colour names given: {dict(colors)}\n")


def latency(n_scenes: int, threads: int) -> None:
    """Per camera frame: preprocess, inference, postprocess (NMS + masks), tokens (3D, fusion, tracking)."""
    config = DatasetConfig(views_per_scene=2, image_sizes=(224,))
    obs_list = []
    for seed in range(SPLIT_FIRST_SEED["test"], SPLIT_FIRST_SEED["test"] + n_scenes):
        frames = list(labelled_frames(seed, "test", config))
        obs_list += [_observation(frames[k:k + 2]) for k in range(0, len(frames), 2)]
    rows = []
    for runtime in ("onnx", "torch"):
        perception = YoloPerception(YoloConfig(runtime=runtime, threads=threads))
        for obs in obs_list[:3]:  # warm-up
            perception.perceive(obs)
        perception.detector.timings.__init__()
        perception.token_times_s.clear()
        walls = []
        for obs in obs_list:
            t0 = time.perf_counter()
            perception.perceive(obs)
            walls.append((time.perf_counter() - t0) / 2)
        t = perception.timings_ms()
        total, p95 = 1e3 * np.median(walls), 1e3 * np.percentile(walls, 95)
        rows.append((runtime, f"{t['preprocess']:.2f}", f"{t['inference']:.2f}", f"{t['postprocess']:.2f}",
                     f"{t['tokens']:.2f}", f"**{total:.1f}**", f"{p95:.1f}"))
    print(f"## Latency per camera frame [ms], 224 px, both cameras batched, {threads} threads, "
          f"{len(obs_list)} observations (median; p95 of the total)\n")
    table(("runtime", "preprocess", "inference", "postprocess", "tokens", "total", "total p95"), rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=60, help="test kitchens for recall and 3D error")
    parser.add_argument("--novel-scenes", type=int, default=60)
    parser.add_argument("--track-seqs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=Path("data/perception/data.yaml"))
    parser.add_argument("--skip-map", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores (load average {load:.1f} at start: shared)\n")
    perception = YoloPerception(YoloConfig(threads=args.threads))
    if not args.skip_map:
        if args.data.exists():
            map_metrics(args.data)
        else:
            print(f"(no {args.data}: run `hvla perception dataset` for the mAP table)\n")
    quality(perception, args.scenes)
    tracking(perception, args.track_seqs)
    novel(perception, args.novel_scenes)
    latency(min(args.scenes, 20), args.threads)


if __name__ == "__main__":
    main()

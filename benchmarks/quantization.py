"""fp32 vs int8: the detector (size, latency, mAP, 3D token error), the skill policy (size, latency, waypoint
difference) and the whole loop (success), in three tables.

    .venv/bin/python benchmarks/quantization.py                       # ~25 min on 2 shared cores
    .venv/bin/python benchmarks/quantization.py --seeds 3 --scenes 5 --skip-map   # a quick look

The int8 detector is the registered artefact made by `hvla perception quantize` (static QDQ, per-channel,
calibrated on training kitchens; perception/quantize.py); the int8 policy is its ONNX export quantised
dynamically (skills/policy/runtime.py). Every number here is measured by this run:
- latency: the network alone on both cameras of one view in one call (as the loop calls it), fp32 and int8
  interleaved call by call over the same frames so machine load falls on both alike; wall time;
- mAP: ultralytics' validator on rendered test kitchens (seeds 30000+, never trained or calibrated on);
- 3D error and recall: the whole perception (tokens) on views of test kitchens (benchmarks/perception.py);
- policy: act() on the start scenes of kitchens for each skill, fp32 and int8 interleaved on the same inputs,
  and how far apart their waypoints are;
- in-loop success: `hvla run`'s episode on held-out kitchens with perception=yolo, skills=learned, for each
  `--loop-rows` pair detector/policy precision.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from loop import INSTRUCTION, run_many

from hvla.orchestration.builder import StackConfig
from hvla.perception.dataset import SPLIT_FIRST_SEED, DatasetConfig, labelled_frames
from hvla.perception.yolo import YoloConfig, YoloPerception
from hvla.skills.policy.factory import LearnedSkillsConfig
from perception import quality, table

PRECISIONS = ("fp32", "int8")


def view_pairs(n_scenes: int) -> list[list[np.ndarray]]:
    """Both cameras' frames of each view of test kitchens."""
    pairs = []
    for seed in range(SPLIT_FIRST_SEED["test"], SPLIT_FIRST_SEED["test"] + n_scenes):
        frames = [lf.frame.rgb for lf in labelled_frames(seed, "test", DatasetConfig(image_sizes=(224,)))]
        pairs += [frames[k:k + 2] for k in range(0, len(frames), 2)]
    return pairs


def latency(pairs: list[list[np.ndarray]], threads: int, repeats: int) -> dict[str, list[float]]:
    """Milliseconds per 2-frame network call for each precision, interleaved call by call."""
    detectors = {p: YoloPerception(YoloConfig(precision=p, threads=threads)).detector for p in PRECISIONS}
    batches = [detectors["fp32"].preprocess(pair) for pair in pairs]
    for d in detectors.values():  # warm-up: first calls allocate
        for b in batches[:3]:
            d.backend(b)
    times: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    for _ in range(repeats):
        for b in batches:
            for p, d in detectors.items():
                t0 = time.perf_counter()
                d.backend(b)
                times[p].append(1e3 * (time.perf_counter() - t0))
    return times


POLICY_SUBGOALS = (("pick", {"object": "banana"}), ("pick_place", {"object": "banana", "target": "bowl"}),
                  ("place", {"object": "banana", "target": "bowl"}), ("wipe", {"region": "counter", "tool": "sponge"}))


def policy_rows(kitchens: int, calls: int) -> list[tuple]:
    """Per precision: export size, act() ms (median / p95), and the int8 waypoints' distance from fp32's."""
    from hvla.core.messages import Subgoal
    from hvla.perception.oracle import OraclePerception
    from hvla.sim.world import KitchenWorld
    from hvla.skills.policy.factory import learned_skills

    policies = {p: learned_skills(LearnedSkillsConfig(anomaly=None, precision=p)) for p in PRECISIONS}
    times: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    gaps_mm: list[float] = []
    for seed in range(kitchens):
        with KitchenWorld(seed=seed) as world:
            obs = world.observe(())
        scene = OraclePerception().perceive(obs)
        for skill, args in POLICY_SUBGOALS:
            subgoal = Subgoal("s0", skill, args)
            chunks = {}
            for policy in policies.values():
                policy.reset(scene, subgoal)
            for _ in range(calls):
                for p, policy in policies.items():
                    t0 = time.perf_counter()
                    chunks[p] = policy.act(scene, obs.proprio)
                    times[p].append(1e3 * (time.perf_counter() - t0))
                gap = chunks["int8"].ee_targets[:, :3] - chunks["fp32"].ee_targets[:, :3]
                gaps_mm += list(1e3 * np.linalg.norm(gap, axis=1))
    rows = []
    for p, policy in policies.items():
        size = policy.onnx_path.stat().st_size / 1e6 if policy.onnx_path is not None else float("nan")
        gap = "-" if p == "fp32" else f"{np.median(gaps_mm):.2f} / {np.max(gaps_mm):.2f}"
        rows.append((p, f"{size:.2f}", f"{np.median(times[p]):.2f} / {np.percentile(times[p], 95):.2f}", gap))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=20, help="test kitchens for 3D error (x 3 views)")
    parser.add_argument("--latency-scenes", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="passes over the latency frames")
    parser.add_argument("--seeds", type=int, default=10, help="in-loop kitchens 0..N-1 (0 skips)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--data", type=Path, default=None,
                        help="data.yaml for mAP (default: render --map-scenes test kitchens)")
    parser.add_argument("--map-scenes", type=int, default=60)
    parser.add_argument("--skip-map", action="store_true")
    parser.add_argument("--loop-rows", default="fp32/fp32,int8/int8",
                        help="in-loop stacks as detector/policy precision pairs, comma-separated")
    parser.add_argument("--policy-kitchens", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="also write the table's numbers here")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at start)\n")

    perceptions = {p: YoloPerception(YoloConfig(precision=p)) for p in PRECISIONS}  # loaded once each
    rows: dict[str, dict] = {p: {} for p in PRECISIONS}
    for p in PRECISIONS:
        path = perceptions[p].detector.backend.path
        rows[p]["size_mb"] = path.stat().st_size / 1e6
    pairs = view_pairs(args.latency_scenes)
    for threads in (1, 2):
        for p, ms in latency(pairs, threads, args.repeats).items():
            rows[p][f"ms_{threads}t"] = (float(np.median(ms)), float(np.percentile(ms, 95)))
    if not args.skip_map:
        from hvla.perception.quantize import write_eval_split
        from hvla.perception.train import validate

        data = args.data or write_eval_split(Path("data/perception_eval"), args.map_scenes)
        for p in PRECISIONS:
            backend = perceptions[p].detector.backend
            rows[p]["map"] = validate(backend.path, data)
    for p in PRECISIONS:
        print(f"### {p}\n")
        rows[p]["quality"] = quality(perceptions[p], args.scenes)  # it resets the tracker per view
    loop_rows = []
    if args.seeds:
        base = StackConfig(perception="yolo", skills="learned")
        for pair in args.loop_rows.split(","):
            detector, policy = pair.split("/")
            stack = replace(base, configs={"perception": YoloConfig(precision=detector),
                                           "skills": LearnedSkillsConfig(precision=policy)})
            reports = run_many(INSTRUCTION, range(args.seeds), stack, args.workers)
            ok = sum(r["success"] for r in reports)
            loop_rows.append((detector, policy, f"{ok}/{len(reports)}", f"{100 * ok / len(reports):.1f}"))
    policy_table = policy_rows(args.policy_kitchens, 30)

    print(f"## Detector fp32 vs int8 (224 px; latency: one call on both cameras, {len(pairs)} views x "
          f"{args.repeats}; 3D error: {args.scenes} test kitchens x 3 views)\n")
    header = ("precision", "size [MB]", "1 thread median / p95 [ms]", "2 threads median / p95 [ms]",
              "box mAP50", "mask mAP50", "mask mAP50-95", "recall", "3D error median / p90 [cm]")
    out = []
    for p, r in rows.items():
        m, q = r.get("map", {}), r["quality"]
        ms = ["{:.1f} / {:.1f}".format(*r[k]) for k in ("ms_1t", "ms_2t")]
        out.append((p, f"{r['size_mb']:.1f}", *ms,
                    m.get("box_map50", "-"), m.get("mask_map50", "-"), m.get("mask_map50_95", "-"),
                    f"{q['recall']:.3f}", f"{q['err_median_cm']:.2f} / {q['err_p90_cm']:.2f}"))
    table(header, out)
    speed = [rows["fp32"][k][0] / rows["int8"][k][0] for k in ("ms_1t", "ms_2t")]
    print(f"int8 speed-up (median): {speed[0]:.2f}x on 1 thread, {speed[1]:.2f}x on 2 threads\n")
    print(f"## Skill policy fp32 vs int8 (act() on 1 thread, start scenes of kitchens 0..{args.policy_kitchens - 1} "
          f"x {len(POLICY_SUBGOALS)} skills x 30 calls)\n")
    table(("precision", "ONNX size [MB]", "act median / p95 [ms]", "waypoint distance from fp32 median / max [mm]"),
          policy_table)
    if loop_rows:
        print(f"## In the loop: {INSTRUCTION!r}, held-out kitchens 0..{args.seeds - 1}, perception=yolo, "
              "skills=learned\n")
        table(("detector", "policy", "success", "rate [%]"), loop_rows)
    if args.json:
        args.json.write_text(json.dumps({"detector": rows, "policy": policy_table, "loop": loop_rows}, indent=1))


if __name__ == "__main__":
    main()

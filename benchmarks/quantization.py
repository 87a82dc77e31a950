"""fp32 vs int8 detector: size, latency, mAP, 3D token error and in-loop success, in one table.

    .venv/bin/python benchmarks/quantization.py                       # ~12 min on 2 shared cores
    .venv/bin/python benchmarks/quantization.py --seeds 3 --scenes 5 --skip-map   # a quick look

The int8 model is the registered artefact made by `hvla perception quantize` (static QDQ, per-channel,
calibrated on training kitchens; perception/quantize.py). Every number here is measured by this run:
- latency: the network alone on both cameras of one view in one call (as the loop calls it), fp32 and int8
  interleaved call by call over the same frames so machine load falls on both alike; wall time;
- mAP: ultralytics' validator on rendered test kitchens (seeds 30000+, never trained or calibrated on);
- 3D error and recall: the whole perception (tokens) on views of test kitchens (benchmarks/perception.py);
- in-loop success: `hvla run`'s episode on held-out kitchens with perception=yolo, skills=learned.
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
    parser.add_argument("--json", type=Path, default=None, help="also write the table's numbers here")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f} at start)\n")

    rows: dict[str, dict] = {p: {} for p in PRECISIONS}
    for p in PRECISIONS:
        path = YoloPerception(YoloConfig(precision=p)).detector.backend.path
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
            backend = YoloPerception(YoloConfig(precision=p)).detector.backend
            rows[p]["map"] = validate(backend.path, data)
    for p in PRECISIONS:
        print(f"### {p}\n")
        rows[p]["quality"] = quality(YoloPerception(YoloConfig(precision=p)), args.scenes)
    if args.seeds:
        base = StackConfig(perception="yolo", skills="learned")
        for p in PRECISIONS:
            stack = replace(base, configs={"perception": YoloConfig(precision=p)})
            reports = run_many(INSTRUCTION, range(args.seeds), stack, args.workers)
            rows[p]["loop"] = (sum(r["success"] for r in reports), len(reports))

    print(f"## Detector fp32 vs int8 (224 px; latency: one call on both cameras, {len(pairs)} views x "
          f"{args.repeats}; 3D error: {args.scenes} test kitchens x 3 views; in-loop: {INSTRUCTION!r}, "
          f"kitchens 0..{args.seeds - 1}, skills=learned)\n")
    header = ("precision", "size [MB]", "1 thread median / p95 [ms]", "2 threads median / p95 [ms]",
              "box mAP50", "mask mAP50", "mask mAP50-95", "recall", "3D error median / p90 [cm]", "in-loop success")
    out = []
    for p, r in rows.items():
        m, q = r.get("map", {}), r["quality"]
        loop = f"{r['loop'][0]}/{r['loop'][1]}" if "loop" in r else "-"
        ms = ["{:.1f} / {:.1f}".format(*r[k]) for k in ("ms_1t", "ms_2t")]
        out.append((p, f"{r['size_mb']:.1f}", *ms,
                    m.get("box_map50", "-"), m.get("mask_map50", "-"), m.get("mask_map50_95", "-"),
                    f"{q['recall']:.3f}", f"{q['err_median_cm']:.2f} / {q['err_p90_cm']:.2f}", loop))
    table(header, out)
    speed = [rows["fp32"][k][0] / rows["int8"][k][0] for k in ("ms_1t", "ms_2t")]
    print(f"int8 speed-up (median): {speed[0]:.2f}x on 1 thread, {speed[1]:.2f}x on 2 threads\n")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

"""Skills benchmark: the learned policy against the scripted expert on held-out kitchens.

    .venv/bin/python benchmarks/skills.py --seeds 20                       # everything, committed policy
    .venv/bin/python benchmarks/skills.py --sections main,mango --seeds 10 --plot runs/bench_skills.png
    .venv/bin/python benchmarks/skills.py --bc data/runs/bc/policy.pt \
        --efficiency 10=data/runs/eff10/policy.pt,50=data/runs/eff50/policy.pt

Seeds start at 10000: demonstrations use 0..9999, DAgger roll-outs 50000.., so no benchmark kitchen was
ever seen in training. The mango never appears in any training scene; it has its own table. Each
episode is one attempt (no retries) through the executor loop `hvla run` uses, on oracle tokens
(`--perception yolo`: on the learned detector's tokens). The chained section starts each skill where a
scripted skill before it left the arm and the scene (as in a plan; a failed first skill counts as a failure).
Results are cached per (policy, case, seed, disturbance) in --cache, so a re-run only adds what is new.

How the committed policy was made (each step resumable; the exact command is in artifacts/MANIFEST,
the recording commands in the README):
    hvla data record --skill pick --episodes 200 --first-seed 1000 --out data/demos/pick   (pick_place, wipe; place 50)
    hvla data record --skill wipe --episodes 30 --perceived --cameras scene,wrist ...      (perceived-token twins)
    hvla train policy --data data/demos/pick --data ... --out data/runs/bc --epochs 30 --register
BC vs BC+DAgger and data efficiency (the rows of issue 7's closing note; D = the four expert datasets,
--data data/demos/pick --data data/demos/pick_place --data data/demos/place --data data/demos/wipe):
    hvla train policy $D --episodes-per-skill 10 --epochs 15 --steps-per-epoch 200 --out data/runs/eff10g
    hvla train dagger --rounds 3 --init data/runs/eff10g/policy.pt $D --skills pick,pick_place,place \
        --moved-share 0.8 --episodes 60 --episodes-per-skill 10 --threads 1 --out data/runs/dagger10r3
    benchmarks/skills.py --sections dagger --seeds 8 --disturbance-seeds 20 --bc data/runs/eff10g/policy.pt \
        --learned data/runs/dagger10r3/round-3/policy/policy.pt
(10 demonstrations per skill are the first 10 of each dataset: recording 20 per skill is enough for this row.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from plotting import Bars, Share, save_bars

from hvla.orchestration.evaluation import SkillCase
from hvla.orchestration.rollouts import PolicySpec, RolloutJob, RolloutResult, default_workers, map_jobs, run_rollout
from hvla.skills.data.disturb import Disturbance
from hvla.skills.data.record import SubgoalSpec

FIRST_SEED = 10_000
FRUITS = ("banana", "apple", "lemon")
CHAINED = " after "  # in a case name: the subgoals before the last are set-up, run scripted
SECTIONS = ("main", "mango", "chained", "disturbances", "efficiency", "dagger", "latency")
ACT_BUDGET_MS = 5.0  # one act() of the learned policy


def case_jobs(skill: str, obj: str, target: str | None = None) -> tuple[str, tuple[SubgoalSpec, ...], SkillCase]:
    """(row name, subgoals, SkillCase for the scene) of one benchmark case."""
    if skill == "pick":
        return f"pick({obj})", (SubgoalSpec.of("s0", "pick", object=obj),), SkillCase("pick", (("object", obj),))
    if skill == "pick_place":
        assert target
        sg = (SubgoalSpec.of("s0", "pick_place", object=obj, target=target),)
        return f"pick_place({obj}, {target})", sg, SkillCase("pick_place", (("object", obj), ("target", target)))
    if skill == "place":
        assert target
        sg = (SubgoalSpec.of("s0", "pick", object=obj), SubgoalSpec.of("s1", "place", object=obj, target=target))
        return f"place({obj}, {target})", sg, SkillCase("pick_place", (("object", obj), ("target", target)))
    sg = (SubgoalSpec.of("s0", "wipe", tool="sponge", region="counter"),)
    return "wipe(sponge, counter)", sg, SkillCase("wipe", (("tool", "sponge"), ("region", "counter")))


def main_cases() -> list[tuple[str, tuple[SubgoalSpec, ...], SkillCase]]:
    cases = [case_jobs("pick", o) for o in (*FRUITS, "sponge")]
    cases += [case_jobs("pick_place", o, t) for t in ("bowl", "plate") for o in FRUITS]
    cases += [case_jobs("place", o, "bowl") for o in FRUITS]
    cases.append(case_jobs("wipe", "sponge"))
    return cases


def mango_cases():
    return [case_jobs("pick", "mango"), case_jobs("pick_place", "mango", "bowl"),
            case_jobs("pick_place", "mango", "plate")]


def chained_cases():
    """A skill right after another, as in a plan: it starts where the first left the arm and the scene.

    The first subgoal is run by the scripted expert in every row; only the second is the policy's.
    """
    cases = []
    for (skill, a), (first_skill, b) in (
        (("wipe", ("sponge",)), ("pick_place", ("banana", "bowl"))),
        (("wipe", ("sponge",)), ("pick_place", ("apple", "plate"))),
        (("pick_place", ("lemon", "plate")), ("wipe", ("sponge",))),
        (("pick_place", ("apple", "bowl")), ("pick_place", ("banana", "bowl"))),
        (("pick", ("banana",)), ("pick_place", ("lemon", "plate"))),
    ):
        _, lead, lead_case = case_jobs(first_skill, *b)
        name, main, case = case_jobs(skill, *a)
        renamed = tuple(SubgoalSpec(f"s{len(lead) + i}", sg.skill, sg.args) for i, sg in enumerate(main))
        both = SkillCase(case.skill, (*lead_case.args, *case.args))
        cases.append((f"{name}{CHAINED}{lead_case.name}", (*lead, *renamed), both))
    return cases


def disturbance_cases():
    return [case_jobs("pick", "banana"), case_jobs("pick", "apple"), case_jobs("pick_place", "lemon", "bowl"),
            case_jobs("pick_place", "apple", "plate")]


class Cache:
    """JSON lines of finished episodes, keyed by policy file hash, case, seed and disturbance."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows: dict[str, dict] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    row = json.loads(line)
                    self.rows[row["key"]] = row

    def result(self, key: str) -> RolloutResult:
        row = {k: v for k, v in self.rows[key].items() if k != "key"}
        return RolloutResult(**{**row, "warnings": tuple(row.get("warnings", ()))})  # JSON made the tuple a list

    def add(self, key: str, result: RolloutResult) -> None:
        row = {"key": key, **result.__dict__}
        self.rows[key] = row
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")


def policy_key(spec: PolicySpec) -> str:
    if spec.kind == "scripted":
        return "scripted"
    from hvla.core.artifacts import ARTIFACTS_DIR
    from hvla.skills.e2e.checkpoint import ARTIFACT as E2E_ARTIFACT
    from hvla.skills.policy.checkpoint import ARTIFACT

    default = E2E_ARTIFACT if spec.kind == "e2e" else ARTIFACT
    path = Path(spec.setting("checkpoint")) if spec.setting("checkpoint") else ARTIFACTS_DIR / default
    key = f"{spec.kind}:{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}"
    if spec.setting("ensemble_horizon") is not None:
        key += f"+ens{spec.setting('ensemble_horizon')}"
    if spec.kind != "e2e" and spec.setting("runtime") != "torch":
        key += f"+{spec.setting('runtime')}"  # the same network and outputs; the loop's chunk_ms differs
    if spec.setting("anomaly"):  # the warnings depend on the detector
        from hvla.skills.policy.anomaly import ARTIFACT as ANOMALY_ARTIFACT

        anomaly = spec.setting("anomaly")
        detector = ARTIFACTS_DIR / ANOMALY_ARTIFACT if anomaly == "committed" else Path(anomaly)
        key += f"+anomaly:{hashlib.sha256(detector.read_bytes()).hexdigest()[:12]}"
    return key if spec.setting("hold_frames") is None else key + f"+hold{spec.setting('hold_frames')}"


def run(policies: dict[str, PolicySpec], cases, seeds: range, disturbance: Disturbance, cache: Cache,
        workers: int, label: str, perception: str = "oracle", condition: str | None = None
        ) -> dict[str, dict[str, list[RolloutResult]]]:
    """results[policy][case] = list of results (cached ones reused).

    `condition` names the disturbance in the cache key where its kind alone does not (other parameters)."""
    suffix = "" if perception == "oracle" else f"|{perception}"
    keys = {name: policy_key(spec) + suffix for name, spec in policies.items()}
    todo, out = [], defaultdict(lambda: defaultdict(list))
    for pname, spec in policies.items():
        for name, subgoals, case in cases:
            for seed in seeds:
                key = f"{keys[pname]}|{name}|{seed}|{condition or disturbance.kind}"
                if key in cache.rows:
                    out[pname][name].append(cache.result(key))
                    continue
                first = 1 if CHAINED in name else 0
                todo.append((pname, key, RolloutJob(name, seed, subgoals, case.scene(), spec, disturbance,
                                                    perception=perception, record_from=first)))
    if todo:
        def keep(i: int, result: RolloutResult) -> None:
            cache.add(todo[i][1], result)  # as it arrives: an interrupted run resumes from here

        results = map_jobs(run_rollout, [(j,) for _, _, j in todo], workers, f"{label}: {len(todo)} episodes",
                           on_result=keep)
        for (pname, _, job), result in zip(todo, results):
            out[pname][job.name].append(result)
    return out


def success(results: list[RolloutResult]) -> Share:
    return Share.of(r.success for r in results)


def rate(results: list[RolloutResult]) -> str:
    """A table's cell: "95 (19/20)" (success [%], then successes of episodes), "-" when none ran."""
    return success(results).format()


def skill_of(case: str) -> str:
    return case.split("(")[0]


def table(title: str, results: dict[str, dict[str, list[RolloutResult]]], by_skill: bool = True) -> Bars:
    """Print success per case (and per skill) for each policy; return the same rows as a panel of bars."""
    names = list(results)
    print(f"\n### {title}\n")
    print("| case | " + " | ".join(f"{n} [%]" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    cases = list(dict.fromkeys(c for n in names for c in results[n]))
    rows = [(case, [success(results[n].get(case, [])) for n in names]) for case in cases]
    for case, shares in rows:
        print(f"| {case} | " + " | ".join(x.format() for x in shares) + " |")
    if by_skill:
        for skill in dict.fromkeys(skill_of(c) for c in cases):
            shares = [success([r for c, rs in results[n].items() if skill_of(c) == skill for r in rs]) for n in names]
            rows.append((f"{skill} (all)", shares))
            print(f"| **{skill} (all)** | " + " | ".join(f"**{x.format()}**" for x in shares) + " |")
    return success_bars(title, names, rows)


def success_bars(title: str, series: list[str], rows: list[tuple[str, list[Share]]]) -> Bars:
    """A table of success rates as lying grouped bars: one group per row, one bar per column (`series`)."""
    return Bars(title, "success [%]", tuple(label for label, _ in rows),
                {name: tuple(shares[i].pct for _, shares in rows) for i, name in enumerate(series)},
                labels="{:.0f}", horizontal=True, top=100.0)


def failures(results: dict[str, dict[str, list[RolloutResult]]], top: int = 4) -> None:
    for name, cases in results.items():
        reasons: dict[str, int] = defaultdict(int)
        for rs in cases.values():
            for r in rs:
                if not r.success:  # the case, then why (without the subgoal's own description)
                    why = (r.reason or "").split(" failed: ", 1)[-1]
                    reasons[f"{r.name}: {why}"[:110]] += 1
        for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1])[:top]:
            print(f"- {name}: {n} x {reason}")


def latency(spec: PolicySpec, calls: int = 300) -> tuple[float, float]:
    """In-process act() time [ms] on a real scene, one thread, in `spec.setting("runtime")`: median, p95."""
    import torch

    from hvla.core.messages import Subgoal
    from hvla.perception.oracle import OraclePerception
    from hvla.sim.world import KitchenWorld
    from hvla.skills.policy.checkpoint import load_policy
    from hvla.skills.policy.learned import LearnedSkills

    torch.set_num_threads(1)
    world = KitchenWorld(seed=FIRST_SEED)
    obs = world.observe(())
    scene = OraclePerception().perceive(obs)
    checkpoint = spec.setting("checkpoint")
    policy = LearnedSkills(load_policy(Path(checkpoint) if checkpoint else None), runtime=spec.setting("runtime"))
    policy.reset(scene, Subgoal("s0", "pick_place", {"object": "banana", "target": "bowl"}))
    for _ in range(20):
        policy.act(scene, obs.proprio)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        policy.act(scene, obs.proprio)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3), float(np.percentile(times, 95) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20, help="held-out seeds per case (10000..)")
    parser.add_argument("--disturbance-seeds", type=int, default=15)
    parser.add_argument("--efficiency-seeds", type=int, default=8)
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--learned", default=None, help="checkpoint (default: the committed artefact)")
    parser.add_argument("--bc", default=None, help="behaviour-cloning-only checkpoint for BC vs BC+DAgger")
    parser.add_argument("--efficiency", default="", help="N=checkpoint,... trained on N demos per skill")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--cache", type=Path, default=Path("data/bench/skills.jsonl"))
    parser.add_argument("--perception", default="oracle", help="tokens the policies act on: oracle | yolo")
    parser.add_argument("--plot", type=Path, default=None, help="draw the tables' numbers as a PNG here")
    args = parser.parse_args()
    sections = set(args.sections.split(","))
    cache = Cache(args.cache)
    seeds = range(FIRST_SEED, FIRST_SEED + args.seeds)
    dseeds = range(FIRST_SEED, FIRST_SEED + args.disturbance_seeds)
    learned = PolicySpec.learned(args.learned)
    policies = {"scripted": PolicySpec("scripted"), "learned": learned}
    if args.bc:
        policies["learned (BC only)"] = PolicySpec.learned(args.bc)
    machine = f"{platform.machine()}, {os.cpu_count()} cores (shared)"
    panels: list[Bars] = []
    print(f"machine: {machine}, {args.workers} workers; "
          f"held-out seeds {seeds.start}..{seeds.stop - 1}; {args.perception} tokens; one attempt per episode")
    none = Disturbance()
    if "main" in sections:
        res = run(policies, main_cases(), seeds, none, cache, args.workers, "main", args.perception)
        panels.append(table(f"Success per skill and object, held-out kitchens, {args.perception} tokens", res))
        failures(res)
    if "mango" in sections:
        res = run(policies, mango_cases(), seeds, none, cache, args.workers, "mango", args.perception)
        panels.append(table(f"The mango (never in training), {args.perception} tokens", res))
        failures(res)
    if "chained" in sections:
        res = run(policies, chained_cases(), seeds, none, cache, args.workers, "chained", args.perception)
        panels.append(table(f"A skill after another (the first one scripted), {args.perception} tokens", res,
                            by_skill=False))
        failures(res)
    if "disturbances" in sections:
        for kind in ("moved_object", "occlusion", "distractors"):
            # Under occlusion, also the learned policy without its short hold of missed tokens (an ablation).
            extra = {"learned, no token hold": learned.with_settings(hold_frames=0)} if kind == "occlusion" else {}
            res = run(policies | extra, disturbance_cases(), dseeds, Disturbance(kind), cache, args.workers, kind)
            panels.append(table(f"Disturbance: {kind.replace('_', ' ')}", res))
            failures(res, 3)
    if "efficiency" in sections and args.efficiency:
        pairs = (x.split("=") for x in args.efficiency.split(","))
        eff = {f"{n} demos/skill": PolicySpec.learned(p) for n, p in pairs}
        eseeds = range(FIRST_SEED, FIRST_SEED + args.efficiency_seeds)
        res = run(eff, main_cases(), eseeds, none, cache, args.workers, "efficiency")
        print("\n### Data efficiency (BC, no DAgger), success over all main cases [%]\n")
        print("| demos per skill | pick | pick_place | place | wipe | all |\n|---|---|---|---|---|---|")
        columns = ("pick", "pick_place", "place", "wipe", "all")
        rows = [(name, [success([r for c, rs in cases.items() if s in ("all", skill_of(c)) for r in rs])
                        for s in columns]) for name, cases in res.items()]
        for name, shares in rows:
            print(f"| {name} | " + " | ".join(x.format() for x in shares) + " |")
        panels.append(success_bars("Data efficiency (BC, no DAgger)", list(columns), rows))
    if "dagger" in sections and args.bc:
        pair = {"BC": policies["learned (BC only)"], "BC+DAgger": learned}
        print("\n### BC vs BC+DAgger [%]\n")
        print("| condition | skill | BC | BC+DAgger |\n|---|---|---|---|")
        rows = []
        for kind in ("none", "moved_object"):
            cases = main_cases() if kind == "none" else disturbance_cases()
            res = run(pair, cases, seeds if kind == "none" else dseeds, Disturbance(kind), cache, args.workers, kind)
            skills = dict.fromkeys(skill_of(c) for c in res["BC"])
            for skill in (*skills, "all"):
                shares = [success([r for c, rs in res[n].items() if skill in ("all", skill_of(c)) for r in rs])
                          for n in pair]
                rows.append((f"{kind.replace('_', ' ')}: {skill}", shares))
                bold = "**" if skill == "all" else ""
                print(f"| {kind.replace('_', ' ')} | {bold}{skill}{bold} | " + " | ".join(x.format() for x in shares)
                      + " |")
        panels.append(success_bars("BC vs BC+DAgger", list(pair), rows))
    if "latency" in sections:
        print("\n### Inference latency (one act() = features + network + ensembling)\n")
        print("| runtime | measure | median [ms] | p95 [ms] | budget [ms] |\n|---|---|---|---|---|")
        rows = []
        for runtime in ("torch", "onnx"):
            spec = learned.with_settings(runtime=runtime)
            rows.append((runtime, "in-process, 1 thread", *latency(spec)))
            loop = [c["chunk_ms"] for c in cache.rows.values() if c["key"].startswith(policy_key(spec) + "|")]
            if loop:  # from this cache's episodes of that runtime (the main section fills it)
                rows.append((runtime, f"in the loop, mean per episode ({len(loop)} episodes)", float(np.median(loop)),
                             float(np.percentile(loop, 95))))
        for runtime, measure, med, p95 in rows:
            print(f"| {runtime} | {measure} | {med:.2f} | {p95:.2f} | {ACT_BUDGET_MS:g} |")
        panels.append(Bars("Inference latency, one act() (features + network + ensembling)", "latency [ms]",
                           tuple(f"{runtime}, {measure}" for runtime, measure, _, _ in rows),
                           {"median": tuple(r[2] for r in rows), "p95": tuple(r[3] for r in rows)},
                           limit=ACT_BUDGET_MS, limit_label=f"budget ({ACT_BUDGET_MS:g} ms)", labels="{:.2f}",
                           horizontal=True))
    if args.plot is not None and panels:
        print(f"\nplot: {save_bars(args.plot, 'benchmarks/skills.py', machine, panels)}")


if __name__ == "__main__":
    main()

import numpy as np

from hvla.core.messages import Subgoal
from hvla.perception.oracle import OraclePerception
from hvla.sim.world import KitchenWorld
from hvla.skills.data.record import (
    HELD_OUT_OBJECTS,
    EpisodeRecorder,
    NoiseConfig,
    NoisyExpert,
    check_held_out,
    plan_demos,
)
from hvla.skills.policy.dagger import DaggerPolicy, resync_expert
from hvla.skills.scripted.experts import PhaseExpert


def test_noise_moves_the_executed_chunk_but_the_label_stays_the_experts():
    world = KitchenWorld(seed=2)
    obs = world.observe(())
    scene = OraclePerception().perceive(obs)
    policy = NoisyExpert(NoiseConfig(p_start=1.0, clean_fraction=0.0, offset_m=(0.02, 0.02)), seed=0)
    policy.reset(scene, Subgoal("s0", "pick", {"object": "apple"}))
    executed = policy.act(scene, obs.proprio)
    assert policy.noise_active
    gap = np.linalg.norm(executed.ee_targets[:, :3] - policy.label.ee_targets[:, :3], axis=1)
    assert np.allclose(gap[executed.ee_targets[:, 2] > 0.013], 0.02, atol=1e-6)
    np.testing.assert_array_equal(executed.gripper_m, policy.label.gripper_m)


def test_the_recorder_keeps_labels_and_flags_per_frame():
    world = KitchenWorld(seed=3)
    obs = world.observe(())
    scene = OraclePerception().perceive(obs)
    subgoal = Subgoal("s0", "pick", {"object": "lemon"})
    policy = NoisyExpert(NoiseConfig(p_start=0.5, clean_fraction=0.0), seed=1)
    policy.reset(scene, subgoal)
    recorder = EpisodeRecorder(policy, [subgoal], ["s0"])
    for _ in range(4):
        chunk = policy.act(scene, obs.proprio)
        recorder.write_step(obs, scene, chunk, [], "s0")
    (episode,) = recorder.episodes("pick-lemon-s3", {"s0": (False, "timeout")}, {"seed": 3})
    assert episode.length == 4 and episode.meta["success"] is False and "lemon" in episode.meta["objects"]
    assert episode.columns["next.done"].tolist() == [False, False, False, True]
    assert not episode.columns["next.success"].any()
    env = episode.columns["observation.environment_state"].reshape(4, 16, 12)
    slot = episode.meta["objects"].index("lemon")
    assert np.allclose(env[:, slot, 1:4], scene.find("lemon").position_m)


def test_an_episodes_task_is_the_operators_words_else_the_subgoal_in_words():
    from hvla.skills.data.record import episode_task

    assert episode_task(Subgoal("s0", "pick", {"object": "lemon_0"})) == "pick up the lemon"
    place = Subgoal("s0", "pick_place", {"object": "apple", "target": "bowl"})
    assert episode_task(place) == "put the apple in the bowl"
    assert episode_task(Subgoal("s0", "pick", {"object": "lemon"}, instruction="grab that lemon")) == "grab that lemon"
    assert episode_task(Subgoal("s0", "pour", {"object": "cup"})) == "pour(object=cup)"  # no phrasing: its call


def test_training_scenes_never_hold_the_mango():
    jobs = plan_demos("pick", 5) + plan_demos("pick_place", 5) + plan_demos("wipe", 2)
    check_held_out(jobs)
    assert all(set(HELD_OUT_OBJECTS) <= set(j.scene.exclude) for j in jobs)
    assert {j.uid for j in jobs} == {j.uid for j in plan_demos("pick", 5) + plan_demos("pick_place", 5)
                                     + plan_demos("wipe", 2)}  # uids are stable: recording resumes


def test_dagger_tracker_skips_grasp_phases_once_the_object_is_held():
    from hvla.skills.scripted.experts import grasp_phases, place_phases

    expert = PhaseExpert([*grasp_phases("apple"), *place_phases("apple", "bowl")])
    expert.index = [p.name for p in expert.phases].index("descend")
    resync_expert(expert, "apple", holding=True, lost_steps=0)
    assert expert.phase.name == "slide"  # the first phase after the fingers close (a no-op without an overhang)
    expert.index = [p.name for p in expert.phases].index("carry")
    resync_expert(expert, "apple", holding=False, lost_steps=5)
    assert expert.phase.name == "above"
    expert.index = [p.name for p in expert.phases].index("retreat")
    resync_expert(expert, "apple", holding=False, lost_steps=5)
    assert expert.phase.name == "retreat"  # letting go is the plan after the release
    expert.index = [p.name for p in expert.phases].index("lower")
    resync_expert(expert, "apple", holding=False, lost_steps=5)
    assert expert.phase.name == "retreat"  # let go while lowering onto the bowl: placed, not lost

    from hvla.skills.scripted.push import push_phases

    pushing = PhaseExpert(push_phases("plate", "counter"))  # no grasp, no "close": a push has nothing to resync
    pushing.index = [p.name for p in pushing.phases].index("push")
    resync_expert(pushing, "plate", holding=False, lost_steps=5)
    assert pushing.phase.name == "push"


def test_dagger_policy_executes_the_learner_and_labels_with_the_expert():
    class Still:
        def reset(self, scene, subgoal):
            pass

        def act(self, scene, proprio):
            from hvla.core.messages import ActionChunk

            T = proprio.T_world_ee
            from hvla.controllers.transforms import matrix_to_pose

            return ActionChunk(np.tile(matrix_to_pose(T), (10, 1)), np.full(10, 0.08))

    world = KitchenWorld(seed=4)
    obs = world.observe(())
    scene = OraclePerception().perceive(obs)
    policy = DaggerPolicy(Still(), beta=0.0, seed=0)
    policy.reset(scene, Subgoal("s0", "pick", {"object": "banana"}))
    chunk = policy.act(scene, obs.proprio)
    assert np.allclose(chunk.ee_targets[:, :3], obs.proprio.ee_position_m)
    assert policy.label is not None and policy.recovering  # the expert would move; the learner did not


def test_dagger_tracker_steps_back_when_the_hand_leaves_a_dwell_phase():
    from hvla.skills.scripted.experts import pick_phases

    world = KitchenWorld(seed=5)
    obs = world.observe(())
    scene = OraclePerception().perceive(obs)
    expert = PhaseExpert(pick_phases("apple"))
    expert.goto([p.name for p in expert.phases].index("close"))  # the hand is still at the ready pose
    resync_expert(expert, "apple", holding=False, lost_steps=0, scene=scene, proprio=obs.proprio)
    assert expert.phase.name == "descend"


def test_dagger_tracker_moves_on_when_the_learner_went_past_the_pregrasp_between_samples():
    from dataclasses import replace

    from hvla.skills.scripted.experts import pick_phases

    obs = KitchenWorld(seed=5).observe(())
    scene = OraclePerception().perceive(obs)
    apple = scene.find("apple")
    expert = PhaseExpert(pick_phases("apple"))
    expert.goto([p.name for p in expert.phases].index("pregrasp"))
    # The hand is 1 cm above the apple's middle: below the pregrasp height, never sampled inside its band.
    T = obs.proprio.T_world_ee.copy()
    T[:3, 3] = apple.position_m + np.array([0.0, 0.0, 0.01])
    below = replace(obs.proprio, T_world_ee=T)
    resync_expert(expert, "apple", holding=False, lost_steps=0, scene=scene, proprio=below)
    assert expert.phase.name == "descend"
    # High above the object the tracker stays in its phase.
    expert.goto([p.name for p in expert.phases].index("pregrasp"))
    resync_expert(expert, "apple", holding=False, lost_steps=0, scene=scene, proprio=obs.proprio)
    assert expert.phase.name == "pregrasp"


def test_lead_ins_start_the_recorded_skill_where_another_left_the_arm():
    jobs = plan_demos("wipe", 40, lead_in_p=0.5) + plan_demos("pick_place", 40, lead_in_p=0.5)
    led = [j for j in jobs if j.lead_in]
    assert 0.25 * len(jobs) < len(led) < 0.75 * len(jobs)
    for job in led:
        (recorded,) = job.record_ids
        assert job.subgoals[-1].id == recorded and len(job.subgoals) == 2
        lead, main = job.subgoals
        main_objects = {v for _, v in main.args}
        lead_object = dict(lead.args).get("object") or dict(lead.args).get("tool")
        assert lead_object not in main_objects  # the lead-in never moves what the recorded skill acts on
        assert {v for _, v in lead.args if v != "counter"} <= set(job.scene.required)
        assert "after_" in job.uid
    assert all(not j.lead_in for j in plan_demos("wipe", 20))  # off by default (DAgger, old datasets)
    assert [j.uid for j in jobs] == [j.uid for j in plan_demos("wipe", 40, lead_in_p=0.5)
                                     + plan_demos("pick_place", 40, lead_in_p=0.5)]


def test_a_second_perception_stream_becomes_a_perceived_episode_with_the_same_labels():
    from dataclasses import replace

    world = KitchenWorld(seed=3)
    obs = world.observe(())
    scene = OraclePerception().perceive(obs)

    class Shifted:  # a "detector" that sees every object 5 mm off and misses the plate
        def perceive(self, obs):
            toks = tuple(replace(t, position_m=t.position_m + 0.005) for t in scene.tokens if t.name != "plate")
            return replace(scene, tokens=toks)

    subgoal = Subgoal("s1", "pick", {"object": "lemon"})
    setup = Subgoal("s0", "pick", {"object": "apple"})
    policy = NoisyExpert(None, seed=1)
    policy.reset(scene, subgoal)
    recorder = EpisodeRecorder(policy, [setup, subgoal], ["s1"], perceived=Shifted())
    chunk = policy.act(scene, obs.proprio)
    recorder.write_step(obs, scene, chunk, [], "s0")  # a set-up step: perceived, not recorded
    for _ in range(3):
        chunk = policy.act(scene, obs.proprio)
        recorder.write_step(obs, scene, chunk, [], "s1")
    oracle, seen = recorder.episodes("pick-lemon-s3", {"s1": (True, None)}, {"seed": 3})
    assert (oracle.uid, seen.uid) == ("pick-lemon-s3", "pick-lemon-s3-perceived")
    assert (oracle.meta["tokens"], seen.meta["tokens"]) == ("oracle", "perceived")
    assert oracle.length == seen.length == 3
    np.testing.assert_array_equal(oracle.columns["action"], seen.columns["action"])
    assert "plate" in oracle.meta["objects"] and "plate" not in seen.meta["objects"]
    env_o = oracle.columns["observation.environment_state"].reshape(3, 16, 12)
    env_s = seen.columns["observation.environment_state"].reshape(3, 16, 12)
    lemon_o, lemon_s = oracle.meta["objects"].index("lemon"), seen.meta["objects"].index("lemon")
    assert np.allclose(env_s[:, lemon_s, 1:4] - env_o[:, lemon_o, 1:4], 0.005, atol=1e-6)


def test_dagger_on_perceived_tokens_labels_from_truth_and_acts_on_what_it_sees():
    from dataclasses import replace

    from hvla.controllers.transforms import matrix_to_pose
    from hvla.core.messages import ActionChunk

    world = KitchenWorld(seed=4)
    obs = world.observe(())
    truth = OraclePerception().perceive(obs)
    seen = replace(truth, tokens=tuple(replace(t, position_m=t.position_m + np.array([0.05, 0.0, 0.0]))
                                       for t in truth.tokens))

    class Recorder:  # a learner that remembers where it was told the banana is
        def reset(self, scene, subgoal):
            self.banana = scene.find("banana").position_m

        def act(self, scene, proprio):
            self.banana = scene.find("banana").position_m
            return ActionChunk(np.tile(matrix_to_pose(proprio.T_world_ee), (10, 1)), np.full(10, 0.08))

    learner = Recorder()
    labelled = DaggerPolicy(learner, beta=0.0, seed=0, expert_view=lambda o: truth)
    blind = DaggerPolicy(Recorder(), beta=0.0, seed=0)
    for policy in (labelled, blind):
        policy.reset(seen, Subgoal("s0", "pick", {"object": "banana"}))
        for _ in range(3):  # past the "rise" phase: the expert heads for the banana
            policy.expert.goto(1)
            policy.act(seen, obs.proprio)
    np.testing.assert_allclose(learner.banana, seen.find("banana").position_m)
    gap = labelled.label.ee_targets[-1, :2] - blind.label.ee_targets[-1, :2]
    assert abs(gap[0] + 0.05) < 0.01 and abs(gap[1]) < 0.01  # the truth-labelled expert aims 5 cm short of the seen one


def test_dagger_tracker_moves_on_to_the_retreat_once_the_learner_has_let_go():
    from hvla.skills.scripted.experts import grasp_phases, place_phases

    obs = KitchenWorld(seed=5).observe(())
    scene = OraclePerception().perceive(obs)
    expert = PhaseExpert([*grasp_phases("apple"), *place_phases("apple", "bowl")])
    release = [p.name for p in expert.phases].index("release")
    expert.goto(release)
    expert._frozen = (obs.proprio.ee_position_m + np.array([0.0, 0.0, -0.1]), 0.0)  # the hand rose 10 cm early
    resync_expert(expert, "apple", holding=True, lost_steps=0, scene=scene, proprio=obs.proprio)
    assert expert.phase.name == "release"  # still holding: back down and open, never "lower, fingers closed"
    resync_expert(expert, "apple", holding=False, lost_steps=1, scene=scene, proprio=obs.proprio)
    assert expert.phase.name == "retreat"


def test_dagger_tracker_follows_a_learner_that_carries_before_it_has_fully_lifted():
    from dataclasses import replace

    from hvla.skills.scripted.experts import grasp_phases, place_phases

    obs = KitchenWorld(seed=5).observe(())
    scene = OraclePerception().perceive(obs)
    expert = PhaseExpert([*grasp_phases("apple"), *place_phases("apple", "bowl")])
    expert.goto([p.name for p in expert.phases].index("lift"))
    apple, bowl = scene.find("apple").position_m, scene.find("bowl").position_m
    expert._frozen = (np.array([*apple[:2], 0.2]), 0.0)  # where the lift began, straight up
    T = obs.proprio.T_world_ee.copy()
    T[:3, 3] = [*(apple[:2] + 0.6 * (bowl[:2] - apple[:2])), 0.18]  # most of the way to the bowl, 2 cm low
    carrying = replace(obs.proprio, T_world_ee=T)
    resync_expert(expert, "apple", holding=True, lost_steps=0, scene=scene, proprio=carrying)
    assert expert.phase.name == "carry"

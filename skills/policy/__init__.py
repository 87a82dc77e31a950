"""skills/policy: the learned skill policy (object-centric transformer), its training and DAgger.

`--skills learned` builds `LearnedSkills` with the committed checkpoint and, when one is committed,
its anomaly detector. The factory below imports torch only when a learned policy is actually built,
so `hvla run --skills scripted` stays light.
"""

from __future__ import annotations

from hvla.skills.base import SKILL_POLICIES


@SKILL_POLICIES.register("learned")
def learned_skills(**kwargs):
    """`LearnedSkills(**kwargs)`: the committed checkpoint (and anomaly detector) unless `policy=` is given."""
    from hvla.skills.policy.anomaly import committed_detector
    from hvla.skills.policy.learned import LearnedSkills

    if "policy" not in kwargs and "detector" not in kwargs:
        kwargs["detector"] = committed_detector()
    return LearnedSkills(**kwargs)

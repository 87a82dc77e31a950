"""skills/e2e: the end-to-end baseline, one network from camera pixels and words to waypoint chunks.

The chapter's other way to solve a task, trained on the same demonstrations as the object-centric
policy, so `benchmarks/approaches.py` can set modular, end-to-end and hybrid side by side.
`--skills e2e` builds `EndToEndSkills` with the committed checkpoint (torch loads on first use).
"""

from __future__ import annotations

from hvla.skills.base import SKILL_POLICIES


@SKILL_POLICIES.register("e2e")
def end_to_end_skills(**kwargs):
    """`EndToEndSkills(**kwargs)`: the committed checkpoint unless `policy=` is given."""
    from hvla.skills.e2e.policy import EndToEndSkills

    return EndToEndSkills(**kwargs)

"""Teleoperation: an operator's keys drive the hand through the executor's loop and become demonstrations.

    keys.py      the key map and the operator as a skill policy (hindsight chunk labels)
    episode.py   one teleoperated, recorded episode (`hvla data teleop`)
    console.py   the operator console's teleoperation routes

Public API:
    TeleopEpisode, TeleopOperator, TeleopConfig, parse_keys, KEY_HELP
"""

from hvla.orchestration.teleop.episode import TeleopEpisode
from hvla.orchestration.teleop.keys import KEY_HELP, TeleopConfig, TeleopOperator, parse_keys

__all__ = ["KEY_HELP", "TeleopConfig", "TeleopEpisode", "TeleopOperator", "parse_keys"]

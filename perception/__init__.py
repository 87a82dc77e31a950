"""Perception: Observation -> Scene of ObjectTokens. Importing it registers the built-in implementations.

"oracle" reads simulator truth; "yolo" is the learned front end (YOLO11n-seg + depth + tracking). The
yolo module imports only light modules at import time: onnxruntime, torch and ultralytics load when a
`YoloPerception` is built.

Public API:
    Perception (protocol), PERCEPTION (registry), OraclePerception, YoloPerception, YoloConfig
"""

from hvla.perception.base import PERCEPTION, Perception
from hvla.perception.oracle import OraclePerception
from hvla.perception.yolo import YoloConfig, YoloPerception

__all__ = ["PERCEPTION", "OraclePerception", "Perception", "YoloConfig", "YoloPerception"]

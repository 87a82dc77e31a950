"""Perception: Observation -> Scene of ObjectTokens. Importing it registers the built-in implementations.

"oracle" reads simulator truth; "yolo" is the learned front end (YOLO11n-seg + depth + tracking). The
yolo module imports only light modules at import time: onnxruntime, torch and ultralytics load when a
`YoloPerception` is built.
"""

from hvla.perception import oracle as _oracle  # noqa: F401  (registers "oracle")
from hvla.perception import yolo as _yolo  # noqa: F401  (registers "yolo")

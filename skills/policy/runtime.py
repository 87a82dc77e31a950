"""Deployment runtime: the skill policy's network exported to ONNX and run by ONNX Runtime.

The chapter's model optimisation step. The export is made once per checkpoint (keyed by its
sha256, cached outside git like the detector's) and computes the same two outputs as the torch
module: the (1, K, 5) chunk and the (1, F) situation features the anomaly detector reads. The MiniLM table is
an input, not a constant, so words met only at run time (the mango) reach the exported graph.
The exported graph keeps no attention maps: `LearnedSkills.attention` recomputes them in torch.

precision="int8" runs the export's int8 twin, made once beside it: dynamic quantisation (weights int8 per
output channel, each activation's scale taken per call). Static calibration, as the detector's, fits
convolutions whose input statistics are fixed by the camera; this network's inputs are token tables whose
ranges change with the scene and the skill, and its matrices are small, so per-call scales cost nothing
measurable and nothing has to be recorded to make it.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from hvla.core.artifacts import cache_dir, sha256_of
from hvla.core.errors import CheckpointError, ConfigError
from hvla.core.logs import library_output
from hvla.core.threads import LOOP_THREADS
from hvla.skills.policy import features as ft
from hvla.skills.policy.checkpoint import LoadedPolicy

RUNTIMES = ("torch", "onnx")
PRECISIONS = ("fp32", "int8")
EXPORT_VERSION = 2  # of the exported graph's outputs: part of the cache name, so an old export is never reused
INPUTS = ("text_table", "tokens", "init_tokens", "state", "roles", "skill", "args", "arg_roles")


class _Exported(nn.Module):
    """The policy with flat tensor inputs and both outputs, for `torch.onnx.export`."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, text_table: Tensor, tokens: Tensor, init_tokens: Tensor, state: Tensor, roles: Tensor,
                skill: Tensor, args: Tensor, arg_roles: Tensor) -> tuple[Tensor, Tensor]:
        raw = ft.RawBatch(tokens, init_tokens, state, roles, skill, args, arg_roles)
        situation = self.model.embed(raw, text_table)
        return self.model.decode(situation), situation


def onnx_cache_path(policy: LoadedPolicy) -> Path:
    if policy.path is None:
        raise ConfigError("the ONNX runtime needs a saved checkpoint (its sha256 names the export)")
    return cache_dir() / "skills" / f"{policy.path.stem}_{sha256_of(policy.path)[:12]}_v{EXPORT_VERSION}.onnx"


def int8_twin(fp32: Path) -> Path:
    """The int8 twin of an fp32 export, made beside it once (atomic, as the export)."""
    from onnxruntime.quantization import QuantType, quant_pre_process, quantize_dynamic

    out = fp32.with_name(fp32.stem + "_int8.onnx")
    if not out.exists():
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp, library_output("onnxruntime"):
            pre, staged = Path(tmp) / "pre.onnx", Path(tmp) / out.name
            quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)  # folds constants, fixes shapes
            quantize_dynamic(str(pre), str(staged), per_channel=True, weight_type=QuantType.QInt8)
            os.replace(staged, out)
    return out


def export_onnx(policy: LoadedPolicy, example: ft.RawBatch, path: Path) -> Path:
    """Export to `path` atomically (parallel workers never see half a file)."""
    wrapper = _Exported(policy.model).eval()
    args = (policy.model.text_table, *(getattr(example, f) for f in INPUTS[1:]))
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp, warnings.catch_warnings(), library_output("torch.onnx"):
        # Shapes are fixed (one sample, N slots, H frames) but for the text table: the tracer's notes on
        # shape arithmetic and the legacy exporter's deprecation notice say nothing about this graph.
        warnings.simplefilter("ignore")
        out = Path(tmp) / "policy.onnx"
        torch.onnx.export(wrapper, args, str(out), input_names=list(INPUTS), output_names=["chunk", "embedding"],
                          dynamic_axes={"text_table": {0: "texts"}}, opset_version=17, dynamo=False)
        os.replace(out, path)
    return path


class OnnxPolicy:
    """Runs one policy step through ONNX Runtime on one thread (the loop shares the cores)."""

    def __init__(self, policy: LoadedPolicy, example: ft.RawBatch, precision: str = "fp32") -> None:
        import onnxruntime as ort

        if precision not in PRECISIONS:
            raise ConfigError(f"unknown policy precision '{precision}'; known: {list(PRECISIONS)}")
        path = onnx_cache_path(policy)
        if not path.exists():
            export_onnx(policy, example, path)
        if precision == "int8":
            path = int8_twin(path)
        self.path = path
        options = ort.SessionOptions()
        options.intra_op_num_threads = LOOP_THREADS.compute  # the process's threading policy (core/threads.py)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only, as the detector's session
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # a damaged cache file: say which, and how to remake it
            raise CheckpointError(f"unreadable ONNX export {path} ({exc}); delete it to re-export") from None

    def __call__(self, raw: ft.RawBatch, text_table: Tensor) -> tuple[Tensor, Tensor]:
        feeds = {"text_table": text_table.numpy()}
        for name in INPUTS[1:]:
            value = getattr(raw, name).numpy()
            feeds[name] = value.astype(np.int64) if value.dtype.kind in "iu" else value.astype(np.float32)
        chunk, embedding = self.session.run(None, feeds)
        return torch.from_numpy(chunk), torch.from_numpy(embedding)

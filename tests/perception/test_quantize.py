"""The int8 detector: quantisation keeps the head's decoding in fp32, the committed int8 model sees what the
fp32 one sees, and a model made from other weights is refused by name."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hvla.core.artifacts import ARTIFACTS_DIR
from hvla.core.errors import CheckpointError, ConfigError
from hvla.perception import quantize
from hvla.perception.quantize import SOURCE_KEY, QuantizeConfig, decoding_nodes, quantize_onnx, source_of
from hvla.perception.yolo import DETECTOR_REL, INT8_REL, QUANTIZE_COMMAND, YoloConfig, YoloPerception

onnx = pytest.importorskip("onnx")


def test_precision_and_method_are_checked():
    with pytest.raises(ConfigError, match="precision 'int4'"):
        YoloConfig(precision="int4")
    with pytest.raises(ConfigError, match="runtime='onnx'"):
        YoloConfig(precision="int8", runtime="torch")
    with pytest.raises(ConfigError, match="calibration method"):
        QuantizeConfig(method="kl")


def _tiny_yolo_like(path: Path) -> Path:
    """/model.0: conv + SiLU (backbone); /model.1: a conv and the decoding that joins pixels and scores."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w0 = numpy_helper.from_array(rng.normal(0, 0.3, (4, 3, 3, 3)).astype(np.float32), "w0")
    w1 = numpy_helper.from_array(rng.normal(0, 0.3, (2, 4, 1, 1)).astype(np.float32), "w1")
    scale = numpy_helper.from_array(np.array(224.0, np.float32), "scale")
    nodes = [
        helper.make_node("Conv", ["images", "w0"], ["c0"], name="/model.0/conv/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("Sigmoid", ["c0"], ["s0"], name="/model.0/act/Sigmoid"),
        helper.make_node("Mul", ["c0", "s0"], ["a0"], name="/model.0/act/Mul"),
        helper.make_node("Conv", ["a0", "w1"], ["c1"], name="/model.1/cv2/Conv"),
        helper.make_node("Sigmoid", ["c1"], ["scores"], name="/model.1/Sigmoid"),
        helper.make_node("Mul", ["scores", "scale"], ["pixels"], name="/model.1/Mul"),
        helper.make_node("Concat", ["pixels", "scores"], ["output0"], name="/model.1/Concat", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4, 8, 8])], initializer=[w0, w1, scale])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model.metadata_props.add(key="names", value="{0: 'thing'}")
    onnx.save(model, str(path))
    return path


def test_quantisation_keeps_the_decoding_fp32_and_the_metadata(tmp_path: Path):
    import onnxruntime as ort

    fp32 = _tiny_yolo_like(tmp_path / "tiny.onnx")
    assert decoding_nodes(onnx.load(str(fp32))) == ["/model.1/Sigmoid", "/model.1/Mul", "/model.1/Concat"]
    rng = np.random.default_rng(1)
    batches = [rng.random((1, 3, 8, 8), np.float32) for _ in range(8)]
    out = quantize_onnx(fp32, tmp_path / "int8.onnx", batches, "minmax", "ab" * 32)
    model = onnx.load(str(out))
    ops = {n.name: n.op_type for n in model.graph.node}
    assert ops["/model.0/conv/Conv"] == "Conv" and any(op == "QuantizeLinear" for op in ops.values())
    concat = next(n for n in model.graph.node if n.name == "/model.1/Concat")
    producers = {o: n.op_type for n in model.graph.node for o in n.output}
    assert all(producers.get(i) != "DequantizeLinear" for i in concat.input), "decoding must read fp32"
    assert source_of(out) == "ab" * 32
    assert {p.key: p.value for p in model.metadata_props}["names"] == "{0: 'thing'}"
    x = batches[0]
    ref, got = (ort.InferenceSession(str(p)).run(None, {"images": x})[0] for p in (fp32, out))
    assert np.abs(got[:, 2:] - ref[:, 2:]).max() < 0.05, "scores survive quantisation"


needs_artifacts = pytest.mark.skipif(
    not (ARTIFACTS_DIR / INT8_REL).exists() or not (ARTIFACTS_DIR / DETECTOR_REL).exists(),
    reason="detector artefacts not built")


@needs_artifacts
@pytest.mark.render
def test_the_int8_detector_sees_what_fp32_sees(kitchen):
    _, obs = kitchen
    frames = [f.rgb for f in obs.frames.values()]
    fp32, int8 = (YoloPerception(YoloConfig(precision=p, threads=1)).detector for p in ("fp32", "int8"))
    for a, b in zip(fp32(frames), int8(frames)):
        assert sorted(d.label for d in a) == sorted(d.label for d in b)
        for d in a:
            best = max((e for e in b if e.label == d.label), key=lambda e: (e.mask & d.mask).sum())
            iou = (best.mask & d.mask).sum() / max((best.mask | d.mask).sum(), 1)
            assert iou > 0.8, (d.label, iou)


@needs_artifacts
def test_an_int8_model_of_other_weights_is_refused(monkeypatch):
    monkeypatch.setattr(quantize, "source_of", lambda path: "0" * 64)
    with pytest.raises(CheckpointError) as err:
        YoloPerception(YoloConfig(precision="int8"))
    assert QUANTIZE_COMMAND in str(err.value) and "--weights" in str(err.value) and SOURCE_KEY not in str(err.value)

"""Quirks of converter-made models: the engine accepts what TFLM accepts, refuses what it refuses.

Each case is a crafted one-op model (tests/fixtures/crafted.py) with one quirk a converter
writes (a stale quantized_dimension on a 1-D bias, one zero point for many scales, a bias
without quantization, an open batch in shape_signature, ...). The `tflite-micro` wheel
judges each (in a child process); the expectation is written next to the case, so a wheel
that changes its mind fails here first. Accepted cases are compiled into one host program
and compared with the wheel byte for byte; refused ones must be refused by the generator
with a one-line message naming the op, tensor or type. The rule table in docs/engine.md
(`Validation rules and their TFLM counterparts`) points here.
"""
import numpy as np
import pytest

from tests.fixtures.crafted import T, build, run_tflm, tflm_verdicts

C = 4            # channels of the depthwise cases
_R = np.random.default_rng(26)


def _w(*shape):
    return _R.integers(-127, 128, shape).astype(np.int8)


def _b(n):
    return _R.integers(-500, 500, n).astype(np.int32)


def depthwise(bias: T, filter_zero_points=(0,) * C) -> bytes:
    return build([T((1, 5, 5, C), scales=[0.02], zero_points=[1]),
                  T((1, 3, 3, C), data=_w(1, 3, 3, C), scales=[0.01, 0.02, 0.03, 0.015],
                    zero_points=list(filter_zero_points), quantized_dimension=3),
                  bias, T((1, 5, 5, C), scales=[0.1], zero_points=[2])],
                 "DEPTHWISE_CONV_2D", [0, 1, 2], [3], "DepthwiseConv2DOptions", padding=0,
                 strideW=1, strideH=1, depthMultiplier=1)


def conv(scales, zero_points, quantized_dimension=0) -> bytes:
    return build([T((1, 4, 4, 2), scales=[0.02], zero_points=[1]),
                  T((3, 2, 2, 2), data=_w(3, 2, 2, 2), scales=scales, zero_points=zero_points,
                    quantized_dimension=quantized_dimension),
                  T((3,), "int32", data=_b(3), scales=[0.0002] * 3, zero_points=[0] * 3),
                  T((1, 3, 3, 3), scales=[0.1], zero_points=[2])],
                 "CONV_2D", [0, 1, 2], [3], "Conv2DOptions", padding=1, strideW=1, strideH=1)


def fully_connected(bias: T, filt_scales=(0.01,), filt_zero_points=(0,), out_scale=0.1,
                    inp: T | None = None) -> bytes:
    return build([inp or T((1, 4), scales=[0.02], zero_points=[3]),
                  T((3, 4), data=_w(3, 4), scales=list(filt_scales),
                    zero_points=list(filt_zero_points)),
                  bias, T((1, 3), scales=[out_scale], zero_points=[-5])],
                 "FULLY_CONNECTED", [0, 1, 2], [3], "FullyConnectedOptions")


def dw_bias(scales, zero_points=None, qd=3) -> T:
    return T((C,), "int32", data=_b(C), scales=scales,
             zero_points=[0] * len(scales) if zero_points is None else zero_points,
             quantized_dimension=qd)


def fc_bias(**kw) -> T:
    return T((3,), "int32", data=_b(3), **kw)


def reshape(in_type: str) -> bytes:
    q = dict(scales=[0.05], zero_points=[1]) if in_type == "int8" else {}
    return build([T((1, 8), in_type, **q), T((2,), "int32", data=np.array([2, 4], np.int32)),
                  T((2, 4), in_type, **q)], "RESHAPE", [0, 1], [2], "ReshapeOptions", newShape=[2, 4])


def with_unused(tensor: T) -> bytes:
    return build([T((1, 8), scales=[0.05], zero_points=[1]), T((1, 8), scales=[0.03], zero_points=[-4]),
                  tensor], "QUANTIZE", [0], [1])


PER_CHANNEL = [0.0002, 0.0004, 0.0006, 0.0003]
# name -> (model, None: TFLM runs it and the engine must equal it | words of the refusal)
CASES = {
    # MobileNet v1 person detection (issue 26): 1-D depthwise biases with the filter's stale
    # quantized_dimension 3, with one scale and with one per channel
    "dw-bias-one-scale-stale-qd": (depthwise(dw_bias([0.0002])), None),
    "dw-bias-per-channel-stale-qd": (depthwise(dw_bias(PER_CHANNEL)), None),
    "dw-bias-per-channel-one-zero-point": (depthwise(dw_bias(PER_CHANNEL, [0])), None),
    "dw-bias-no-quantization": (depthwise(T((C,), "int32", data=_b(C))), None),
    "dw-bias-empty-quantization-table": (depthwise(T((C,), "int32", data=_b(C),
                                                     empty_quantization=True)), None),
    # one zero point written for all channels of a per-channel filter
    "dw-filter-one-zero-point": (depthwise(dw_bias([0.0002]), [0]), None),
    "conv-filter-one-zero-point": (conv([0.01, 0.02, 0.03], [0]), None),
    "conv-filter-two-zero-points": (conv([0.01, 0.02, 0.03], [0, 0]), None),
    "fc-filter-per-channel-one-zero-point": (fully_connected(fc_bias(scales=[0.0002] * 3,
                                                                     zero_points=[0] * 3),
                                                             [0.01, 0.02, 0.03], [0]), None),
    # per-channel kernels never read the filter zero point (the wheel's outputs do not change)
    "dw-filter-nonzero-zero-point": (depthwise(dw_bias([0.0002]), [0, 3, 0, -2]), None),
    "conv-filter-nonzero-zero-point": (conv([0.01, 0.02, 0.03], [5]), None),
    # per-tensor filters ignore quantized_dimension; per-channel ones are checked
    "conv-filter-per-tensor-stale-qd": (conv([0.01], [0], 7), None),
    "conv-filter-per-channel-wrong-qd": (conv([0.01, 0.02, 0.03], [0] * 3, 3),
                                         "3 per-channel scales, but shape \\[3, 2, 2, 2\\] has 3 output channels and 2 along"),
    "conv-filter-scales-not-per-channel": (conv([0.01, 0.02], [0] * 2),
                                           "CONV_2D operator 0: filter tensor 1 .t1.: 2 per-channel scales"),
    # a per-tensor activation with a stale quantized_dimension
    "fc-input-stale-qd": (fully_connected(fc_bias(scales=[0.0002], zero_points=[0]),
                                          inp=T((1, 4), scales=[0.02], zero_points=[3],
                                                quantized_dimension=3)), None),
    # a bias without quantization is scale 0 in TFLM's 2 % bias-scale check
    "fc-bias-no-quantization": (fully_connected(fc_bias()), None),
    "fc-bias-scales-without-zero-points": (fully_connected(fc_bias(scales=[0.0002], zero_points=[])),
                                           None),
    "fc-bias-no-quantization-small-output-scale": (fully_connected(fc_bias(), out_scale=0.001),
                                                   "bias scale 0.0 differs"),
    # FULLY_CONNECTED applies a weights zero point (TFLM's weights_offset): not implemented
    "fc-filter-nonzero-zero-point": (fully_connected(fc_bias(scales=[0.0002], zero_points=[0]),
                                                     filt_zero_points=[4]),
                                     "FULLY_CONNECTED \\(operator 0\\) is not supported .* weights zero point 4"),
    # shape_signature (-1: an open batch) is not read; shape is what TFLM allocates
    "fc-input-open-batch-signature": (fully_connected(
        fc_bias(scales=[0.0002], zero_points=[0]),
        inp=T((1, 4), scales=[0.02], zero_points=[3], shape_signature=(-1, 4))), None),
    # tensor types: named, never as a bare code
    "unused-uint32-tensor": (with_unused(T((2,), "uint32")), None),
    "uint32-reshape": (reshape("uint32"),
                       "RESHAPE \\(operator 0\\) is not supported .*tensor 0 't0' is UINT32"),
    "unused-string-tensor": (with_unused(T((2,), "string")),
                             "tensor 2 \\(t2\\): type STRING, which TFLite Micro cannot allocate"),
}
NAMES = list(CASES)
# TFLM runs these, the engine lacks the variant: refused by op and reason (the goal)
NOT_IMPLEMENTED = {"fc-filter-nonzero-zero-point", "uint32-reshape"}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    return dict(zip(NAMES, tflm_verdicts([CASES[n][0] for n in NAMES],
                                         tmp_path_factory.mktemp("quirk_verdicts"))))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """Every case TFLM should run, generated and linked into one host program."""
    from bedside.bench.engine import build_host
    from bedside.converter.engine import generate
    tmp = tmp_path_factory.mktemp("quirks")
    accepted = [n for n in NAMES if CASES[n][1] is None and not n.startswith("unused-")]
    for n in accepted:
        generate(CASES[n][0], tmp / n, command=f"tests: {n}")
    return accepted, build_host([tmp / n for n in accepted], tmp / "build", sanitize=False)


def _inputs(model: bytes, n: int = 24) -> np.ndarray:
    from bedside.converter.engine import read_model
    m = read_model(model)
    t = m.tensors[m.inputs[0]]
    return np.random.default_rng(len(model)).integers(-128, 128, (n, *t.shape)).astype(np.int8)


@pytest.mark.parametrize("name", NAMES)
def test_tflm_verdict_is_as_written(verdicts, name):
    refused = CASES[name][1] is not None and name not in NOT_IMPLEMENTED
    assert (verdicts[name] is not None) == refused, f"{name}: the wheel says {verdicts[name]}"


@pytest.mark.parametrize("name", NAMES)
def test_engine_accepts_what_tflm_runs_and_refuses_the_rest(compiled, name):
    from bedside.bench.engine import run_host
    from bedside.converter.engine import EngineError, TFLiteFormatError, render
    model, words = CASES[name]
    if words is not None:
        with pytest.raises((EngineError, TFLiteFormatError), match=words) as e:
            render(model)
        assert "\n" not in str(e.value)
        return
    render(model)                                     # accepted (the unused-tensor cases too)
    accepted, exe = compiled
    if name not in accepted:
        return
    x = _inputs(model)
    ref = run_tflm(model, list(x))
    got = run_host(exe, accepted.index(name), x, ref.dtype, ref.shape[1:])
    assert np.array_equal(got, ref), f"{name}: {int(np.count_nonzero(got != ref))} bytes differ"

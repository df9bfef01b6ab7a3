"""The generator refuses every model TFLM refuses: seeded mutations of small crafted models.

Each mutation changes one field (a zero point, a scale, the number of scales, a shape, the
quantized dimension, a tensor type, an operator's inputs, a builtin option, quantization
removed). TFLM judges each mutant in a child process (it aborts on some); whenever TFLM
refuses a model, `bedside.converter.engine.render` must refuse it too, with EngineError or
TFLiteFormatError (a one-line message naming the tensor or op), and it never raises
anything else.
"""
import copy
import math

import numpy as np
import pytest

from tests.fixtures.crafted import T, build, schema, tflm_verdicts


def _base_models() -> list[bytes]:
    r = np.random.default_rng(3)
    w = lambda *s: r.integers(-127, 128, s).astype(np.int8)     # noqa: E731
    b = lambda n: r.integers(-500, 500, n).astype(np.int32)     # noqa: E731
    out = []
    for per_channel in (False, True):
        k = 3 if per_channel else 1
        out.append(build([T((1, 4), scales=[0.02], zero_points=[3]),
                          T((3, 4), data=w(3, 4), scales=[0.01] * k, zero_points=[0] * k),
                          T((3,), "int32", data=b(3), scales=[0.0002] * k, zero_points=[0] * k),
                          T((1, 3), scales=[0.1], zero_points=[-5])],
                         "FULLY_CONNECTED", [0, 1, 2], [3], "FullyConnectedOptions"))
    out.append(build([T((1, 4, 4, 2), scales=[0.02], zero_points=[1]),
                      T((3, 2, 2, 2), data=w(3, 2, 2, 2), scales=[0.01, 0.02, 0.03], zero_points=[0] * 3),
                      T((3,), "int32", data=b(3), scales=[0.0002, 0.0004, 0.0006], zero_points=[0] * 3),
                      T((1, 3, 3, 3), scales=[0.1], zero_points=[2])],
                     "CONV_2D", [0, 1, 2], [3], "Conv2DOptions", padding=1, strideW=1, strideH=1))
    out.append(build([T((1, 4, 4, 2), scales=[0.02], zero_points=[1]),
                      T((1, 2, 2, 2), data=w(1, 2, 2, 2), scales=[0.01, 0.02], zero_points=[0, 0],
                        quantized_dimension=3),
                      T((2,), "int32", data=b(2), scales=[0.0002, 0.0004], zero_points=[0, 0]),
                      T((1, 3, 3, 2), scales=[0.1], zero_points=[2])],
                     "DEPTHWISE_CONV_2D", [0, 1, 2], [3], "DepthwiseConv2DOptions", padding=1,
                     strideW=1, strideH=1, depthMultiplier=1))
    for op in ("ADD", "MUL"):
        out.append(build([T((1, 4), scales=[0.05], zero_points=[1]),
                          T((1, 4), data=w(1, 4), scales=[0.04], zero_points=[-2]),
                          T((1, 4), scales=[0.1], zero_points=[0])],
                         op, [0, 1], [2], op.capitalize() + "Options"))
    out.append(build([T((1, 3, 4, 1), scales=[0.05], zero_points=[1]),
                      T((1,), "int32", data=np.array([1], np.int32)),
                      T((1, 4, 1), scales=[0.07], zero_points=[-3])],
                     "MEAN", [0, 1], [2], "ReducerOptions", keepDims=False))
    out.append(build([T((1, 4, 4, 2), scales=[0.05], zero_points=[1]),
                      T((1, 2, 2, 2), scales=[0.05], zero_points=[1])],
                     "AVERAGE_POOL_2D", [0], [1], "Pool2DOptions", padding=1, strideW=2,
                     strideH=2, filterWidth=2, filterHeight=2))
    out.append(build([T((1, 8), scales=[0.05], zero_points=[1]),
                      T((1, 8), scales=[0.03], zero_points=[-4])], "QUANTIZE", [0], [1]))
    return out


def _mutate(m, r) -> str | None:
    """Change one field of model object `m` in place; returns what changed (None: nothing)."""
    sg = m.subgraphs[0]
    t = sg.tensors[int(r.integers(len(sg.tensors)))]
    op = sg.operators[0]
    q = t.quantization
    kind = int(r.integers(9))
    if kind == 0 and q is not None and q.zeroPoint is not None:
        q.zeroPoint = [int(r.choice([128, -129, 300, 1 << 40, -1090921693312, 1]))] * len(q.zeroPoint)
    elif kind == 1 and q is not None and q.scale is not None:
        q.scale = [float(r.choice([0.0, -0.5, math.nan, math.inf, 1e-45, 1e30]))] * len(q.scale)
    elif kind == 2 and q is not None and q.scale is not None:
        n = max(1, len(q.scale) + int(r.choice([-1, 1, 2])))
        q.scale, q.zeroPoint = [q.scale[0]] * n, [0] * n
    elif kind == 3 and t.shape is not None and len(t.shape):
        i = int(r.integers(len(t.shape)))
        t.shape[i] = max(0, int(t.shape[i]) + int(r.choice([-1, 1, 2])))
    elif kind == 4 and q is not None:
        q.quantizedDimension = int(r.choice([1, 2, 3, 5]))
    elif kind == 5:
        t.type = int(r.choice([0, 2, 7, 3]))
    elif kind == 6 and len(op.inputs) > 1:
        i, j = r.choice(len(op.inputs), 2, replace=False)
        op.inputs[i], op.inputs[j] = op.inputs[j], op.inputs[i]
    elif kind == 7 and op.builtinOptions is not None:
        name = str(r.choice(sorted(vars(op.builtinOptions))))
        if not isinstance(getattr(op.builtinOptions, name), (int, bool)):
            return None
        setattr(op.builtinOptions, name, int(r.choice([0, 2, 7, -1, 100])))
    elif kind == 8 and q is not None:
        t.quantization = None
    else:
        return None
    return f"mutation {kind}"


def _pack(m) -> bytes | None:
    import flatbuffers
    b = flatbuffers.Builder(1024)
    try:
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
    except (TypeError, ValueError, OverflowError):   # e.g. 2 for a bool field
        return None
    return bytes(b.Output())


def mutants(n: int, seed: int = 0) -> list[bytes]:
    s = schema()
    bases = [s.ModelT.InitFromObj(s.Model.GetRootAsModel(m, 0)) for m in _base_models()]
    r = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        m = copy.deepcopy(bases[int(r.integers(len(bases)))])
        if _mutate(m, r) and (data := _pack(m)) is not None:
            out.append(data)
    return out


def test_base_models_are_accepted_by_both(tmp_path):
    from bedside.converter.engine import render
    models = _base_models()
    assert tflm_verdicts(models, tmp_path) == [None] * len(models)
    for m in models:
        render(m)


def test_generator_refuses_what_tflm_refuses(tmp_path):
    from bedside.converter.engine import EngineError, TFLiteFormatError, render
    models = mutants(240)
    verdicts = tflm_verdicts(models, tmp_path)
    refused_by_tflm = [i for i, v in enumerate(verdicts) if v is not None]
    assert len(refused_by_tflm) > 40          # the mutations do reach TFLM's checks
    accepted = []
    for i, m in enumerate(models):
        try:
            render(m)
            accepted.append(i)
        except (EngineError, TFLiteFormatError) as e:
            assert "\n" not in str(e) and str(e)
    both = [(i, verdicts[i]) for i in accepted if verdicts[i] is not None]
    assert not both, f"the generator accepts models TFLM refuses: {both[:5]}"


@pytest.mark.parametrize("tensor,zero_point,words", [
    (2, -1090921693312, "zero point -1090921693312 is outside int32"),
    (3, 128, "zero point 128 is outside int8"),
])
def test_zero_point_out_of_range_is_named(tensor, zero_point, words):
    from bedside.converter.engine import InvalidModelError, render
    s = schema()
    m = s.ModelT.InitFromObj(s.Model.GetRootAsModel(_base_models()[0], 0))
    m.subgraphs[0].tensors[tensor].quantization.zeroPoint = [zero_point]
    with pytest.raises(InvalidModelError, match=words):
        render(_pack(m))

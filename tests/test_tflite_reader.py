"""The one .tflite reader: builtin options by name, checked options types, manifest views;
and parameter structs filled by field name from the kernel headers."""
import numpy as np
import pytest

from bedside.converter.engine import TFLiteFormatError, read_model
from tests.fixtures.crafted import T, build


def _conv(**opts) -> bytes:
    return build([T((1, 5, 5, 2), scales=[0.02], zero_points=[1]),
                  T((3, 2, 2, 2), data=np.ones((3, 2, 2, 2), np.int8), scales=[0.01] * 3,
                    zero_points=[0] * 3),
                  T((1, 2, 2, 3), scales=[0.1], zero_points=[2])],
                 "CONV_2D", [0, 1, -1], [2], "Conv2DOptions", version=3, **opts)


def test_options_by_schema_field_name():
    op = read_model(_conv(padding=1, strideW=2, strideH=3, fusedActivationFunction=3)).operators[0]
    o = op.options
    assert (o.padding, o.stride_w, o.stride_h, o.fused_activation_function) == (1, 2, 3, 3)
    assert (o.dilation_w_factor, o.dilation_h_factor) == (1, 1)        # schema defaults
    with pytest.raises(AttributeError, match="Conv2DOptions has no field depth_multiplier"):
        o.depth_multiplier


def test_absent_options_read_as_schema_defaults():
    m = build([T((1, 4), scales=[0.1], zero_points=[0]), T((1, 4), data=np.ones((1, 4), np.int8),
               scales=[0.1], zero_points=[0]), T((1, 4), scales=[0.2], zero_points=[0])],
              "ADD", [0, 1], [2])
    assert read_model(m).operators[0].options.fused_activation_function == 0


def test_options_of_another_op_are_refused():
    m = build([T((1, 4), scales=[0.1], zero_points=[0]),
               T((2, 4), data=np.ones((2, 4), np.int8), scales=[0.1], zero_points=[0]),
               T((1, 2), scales=[0.2], zero_points=[0])],
              "FULLY_CONNECTED", [0, 1, -1], [2], "Conv2DOptions", strideW=1)
    with pytest.raises(TFLiteFormatError, match="Conv2DOptions, but FULLY_CONNECTED needs "
                                                "FullyConnectedOptions"):
        read_model(m)


def test_manifest_views():
    m = read_model(_conv(padding=1, strideW=2, strideH=2))
    assert m.op_versions() == [{"name": "CONV_2D", "version": 3}]
    assert m.input_tensors[0].as_dict() == {"shape": [1, 5, 5, 2], "dtype": "int8",
                                            "scale": float(np.float32(0.02)), "zero_point": 1,
                                            "bytes": 50}


def test_parameter_structs_are_filled_by_name():
    from bedside.converter.engine.codegen import Gen, struct_fields
    assert struct_fields()["FullyConnectedParams"][:3] == ("batches", "depth", "out_c")
    g = Gen(read_model(_conv(padding=1, strideW=1, strideH=1)), plan=None)
    g.op = g.model.operators[0]
    fields = {f: 0 for f in struct_fields()["SoftmaxParams"]}
    name = g.param("SoftmaxParams", outer=2, depth=3, table_size=4)
    assert g.decls[-1] == (f"const bedside_engine::SoftmaxParams {name} = "
                           "{.outer = 2, .depth = 3, .table_size = 4};")
    with pytest.raises(RuntimeError, match=r"missing fields \['table_size'\]"):
        g.param("SoftmaxParams", outer=2, depth=3)
    with pytest.raises(RuntimeError, match=r"unknown fields \['beta'\]"):
        g.param("SoftmaxParams", beta=1, **fields)

"""ADD / SUB / MUL lowering with 4-D broadcast (shared by the three op modules)."""
from ..quant import quantize_multiplier, quantize_multiplier_smaller_than_one
from ._common import act_range, check_int8, shape4


def _strides(shape, out_dims, g):
    dims = shape4(shape)
    strides, s = [0] * 4, 1
    for d in range(3, -1, -1):
        if dims[d] == out_dims[d]:
            strides[d] = s if dims[d] > 1 else 0
        elif dims[d] != 1:
            g.fail(f"cannot broadcast {list(shape)} to {out_dims}")
        s *= dims[d]
    return strides


def lower_binary(op, g, kind: str):
    check_int8(g, op.inputs[0], op.inputs[1], op.outputs[0])
    a, b, out = g.t(op.inputs[0]), g.t(op.inputs[1]), g.t(op.outputs[0])
    if len(out.shape) > 4:
        g.fail("more than 4 dimensions")
    out_dims = shape4(out.shape)
    act = op.options.fused_activation_function
    lo, hi = act_range(g, act, out)
    if kind == "Mul":
        m, s = quantize_multiplier(float(a.scale) * float(b.scale) / float(out.scale))
        left, m1, s1, m2, s2 = 0, 0, 0, 0, 0
    else:
        # add_common.cc / sub_common.cc: both inputs rescaled to twice the larger scale.
        left = 20
        twice_max = 2 * float(max(a.scale, b.scale))
        m1, s1 = quantize_multiplier_smaller_than_one(float(a.scale) / twice_max)
        m2, s2 = quantize_multiplier_smaller_than_one(float(b.scale) / twice_max)
        m, s = quantize_multiplier_smaller_than_one(twice_max / ((1 << left) * float(out.scale)))
    def c_array(values):
        return "{" + ", ".join(map(str, values)) + "}"

    p = g.param("BinaryParams", out_dims=c_array(out_dims), stride1=c_array(_strides(a.shape, out_dims, g)),
                stride2=c_array(_strides(b.shape, out_dims, g)), input1_offset=-a.zero_point,
                input2_offset=-b.zero_point, output_offset=out.zero_point, left_shift=left,
                input1_multiplier=m1, input1_shift=s1, input2_multiplier=m2, input2_shift=s2,
                output_multiplier=m, output_shift=s, act_min=lo, act_max=hi)
    # The fast multipliers (kernels/elementwise.h) need |x| < 2^30, which the int8 ranges
    # give (255 << 20, 255 * 255), and shifts in [-31, 0].
    fast = all(-31 <= v <= 0 for v in (s1, s2, s))
    g.emit(f"bedside_engine::{kind}<{'true' if fast else 'false'}>({p}, {g.ptr(op.inputs[0], True)}, "
           f"{g.ptr(op.inputs[1], True)}, {g.ptr(op.outputs[0])});")

"""RESHAPE / SQUEEZE / EXPAND_DIMS: no code; the planner aliases output to input."""


def lower(op, g):
    a, b = g.t(op.inputs[0]), g.t(op.outputs[0])
    if a.nbytes != b.nbytes:
        g.fail(f"input has {a.nbytes} bytes, output {b.nbytes}")
    g.emit("// (aliased: same bytes, new shape)")

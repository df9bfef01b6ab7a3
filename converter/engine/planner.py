"""Static memory plan: tensor lifetimes in op order, greedy packing into one arena.

Every non-constant tensor (and every op's scratch buffer) gets a lifetime [first op that
writes it, last op that reads it]. Outputs of RESHAPE/SQUEEZE/EXPAND_DIMS alias their
input (one buffer, the union of lifetimes). The model input is read from the caller's
buffer and the model output written to the caller's buffer, so neither takes arena space
(unless one buffer is both). Buffers are placed largest first at the lowest 16-aligned
offset that does not overlap a live buffer, like TFLM's GreedyMemoryPlanner.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ALIGN = 16
ALIAS_OPS = {"RESHAPE", "SQUEEZE", "EXPAND_DIMS"}


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass
class Buffer:
    name: str
    size: int
    first: int
    last: int
    tensors: list[int] = field(default_factory=list)
    location: str = "arena"          # "arena", "input" or "output"
    offset: int = 0


@dataclass
class Plan:
    buffers: list[Buffer]
    tensor_buffer: dict[int, Buffer]
    scratch: dict[int, Buffer]       # op index -> scratch buffer
    arena_bytes: int


def plan(model, scratch_bytes: dict[int, int]) -> Plan:
    """Plan `model` (tflite_reader.Model); scratch_bytes: op index -> bytes it needs."""
    n_ops = len(model.operators)
    group: dict[int, int] = {}                       # tensor -> representative tensor

    def find(t: int) -> int:
        while group.get(t, t) != t:
            t = group[t]
        return t

    for op in model.operators:
        if op.op in ALIAS_OPS:
            group[find(op.outputs[0])] = find(op.inputs[0])

    first: dict[int, int] = {}
    last: dict[int, int] = {}
    members: dict[int, list[int]] = {}

    def touch(t: int, i: int) -> None:
        if t < 0 or model.tensors[t].data is not None:
            return
        r = find(t)
        first[r] = min(first.get(r, i), i)
        last[r] = max(last.get(r, i), i)
        members.setdefault(r, [])
        if t not in members[r]:
            members[r].append(t)

    for t in model.inputs:
        touch(t, -1)
    for i, op in enumerate(model.operators):
        for t in op.inputs + op.outputs:
            touch(t, i)
    for t in model.outputs:
        touch(t, n_ops)

    buffers: list[Buffer] = []
    by_tensor: dict[int, Buffer] = {}
    for r, ts in members.items():
        size = max(model.tensors[t].nbytes for t in ts)
        b = Buffer(f"t{r}", size, first[r], last[r], ts)
        is_in = any(t in model.inputs for t in ts)
        is_out = any(t in model.outputs for t in ts)
        if is_in and not is_out:
            b.location = "input"
        elif is_out and not is_in:
            b.location = "output"
        buffers.append(b)
        for t in ts:
            by_tensor[t] = b
    scratch = {}
    for i, nbytes in scratch_bytes.items():
        if nbytes > 0:
            b = Buffer(f"scratch{i}", nbytes, i, i)
            buffers.append(b)
            scratch[i] = b

    placed: list[Buffer] = []
    arena = 0
    for b in sorted((b for b in buffers if b.location == "arena"),
                    key=lambda b: (-_align(b.size), b.first, b.name)):
        live = sorted((p for p in placed if p.first <= b.last and b.first <= p.last),
                      key=lambda p: p.offset)
        offset = 0
        for p in live:
            if offset + b.size <= p.offset:
                break
            offset = max(offset, _align(p.offset + p.size))
        b.offset = offset
        placed.append(b)
        arena = max(arena, _align(offset + b.size))
    return Plan(buffers, by_tensor, scratch, arena)

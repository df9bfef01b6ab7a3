"""Worst-case stack of a firmware build from GCC's call graph (-fcallgraph-info=su), and
the stack a board's linker script reserves from it (firmware builds and `bench engine`)."""
from __future__ import annotations

import re
from pathlib import Path

# bytes added to the measured worst-case stack: exception entry frames and library calls
# (memcpy, division helpers) that GCC's call graph does not see
STACK_MARGIN = 512
RESET_ENTRIES = ("Reset_Handler", "riscv_reset", "call_user_start")   # the ports' reset entries


def callgraph_stack(build_dir: Path, roots=("main", "Reset_Handler")) -> dict:
    """Worst-case stack from GCC's -fcallgraph-info=su files (.ci): the deepest sum of
    frames on any call path from the roots; recursion or calls through pointers unknown
    to GCC are reported, since they make the bound incomplete."""
    frames: dict[str, int] = {}
    names: dict[str, str] = {}
    edges: dict[str, set[str]] = {}
    dynamic: list[str] = []
    node = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
    size_re = re.compile(r'\\n(\d+) bytes \(([^)]*)\)')
    edge = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
    for ci in Path(build_dir).rglob("*.ci"):
        text = ci.read_text(errors="replace")
        for m in node.finditer(text):
            title, text_label = m.groups()
            label = text_label.split("\\n")[0]
            sz = size_re.search(text_label)
            if sz:
                frames[title] = max(frames.get(title, 0), int(sz.group(1)))
                if "dynamic" in sz.group(2):
                    dynamic.append(label)
            names.setdefault(title, label)
        for m in edge.finditer(text):
            edges.setdefault(m.group(1), set()).add(m.group(2))
    # identical functions appear in several .ci files under one title: merge by title
    memo: dict[str, tuple[int, list[str]]] = {}
    recursive: set[str] = set()

    def worst(f: str, stack: tuple[str, ...]) -> tuple[int, list[str]]:
        if f in stack:
            recursive.add(names.get(f, f))
            return 0, []
        if f in memo:
            return memo[f]
        best, path = 0, []
        for g in edges.get(f, ()):
            s, pth = worst(g, stack + (f,))
            if s > best:
                best, path = s, pth
        memo[f] = (frames.get(f, 0) + best, [names.get(f, f)] + path)
        return memo[f]

    titles = {names.get(t, t): t for t in set(frames) | set(edges)}
    results = {}
    for r in roots:
        t = next((t for n, t in titles.items() if n == r or n.endswith(":" + r)), None)
        if t is not None:
            results[r] = worst(t, ())
    # interrupt handlers run on top of the deepest thread path
    isr = max((worst(t, ()) for n, t in titles.items() if n.endswith("_Handler")
               and not n.endswith("Reset_Handler")), default=(0, []))
    root, (total, path) = max(results.items(), key=lambda kv: kv[1][0], default=("", (0, [])))
    return {"worst_case_bytes": total + isr[0], "thread_bytes": total, "isr_bytes": isr[0],
            "path": path, "isr_path": isr[1], "root": root,
            "recursion": sorted(recursive), "dynamic": sorted(set(dynamic)),
            "functions": len(frames)}


def worst_case_stack(build_dir: Path) -> int:
    """Deepest call path from a port's reset entry plus the deepest interrupt handler."""
    return callgraph_stack(build_dir, roots=RESET_ENTRIES)["worst_case_bytes"]


def stack_reserve(worst_bytes: int) -> int:
    """The stack to link with: the worst case plus STACK_MARGIN, rounded up to 16 bytes."""
    return -(-(worst_bytes + STACK_MARGIN) // 16) * 16

"""`bedside docs RUN_DIR`: render the figure tables in the docs from a run's JSON files.

    bedside docs [RUN_DIR] [--doc FILE ...] [--check]

A doc marks each generated table with a named block:

    <!-- bedside:table evaluation.alarm_burden.endpoint -->
    | model | ... |
    <!-- /bedside:table -->

The name's first part is the JSON file in RUN_DIR (`evaluation` -> evaluation.json), the
rest names one of the tables in TABLES. The block's body is replaced by the table rendered
from that file, so no figure in it is typed by hand. A block whose JSON is not in RUN_DIR
is left as it is and listed (a demo run has no personalization_pipeline.json).
`--check` writes nothing: it lists every block whose body differs from what RUN_DIR's JSON
renders and exits 1 if any does. Default docs: docs/training.md and
docs/personalization.md of the kit's checkout.
Exit codes: 0 rendered / no drift, 1 drift (--check), 2 bad input (run dir, JSON, an
unknown table name, unbalanced markers).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Callable

DOCS = ("docs/training.md", "docs/personalization.md")
BLOCK = re.compile(r"(<!-- bedside:table (?P<name>[\w.]+) -->\n)(?P<body>.*?)(<!-- /bedside:table -->)",
                   re.S)
OPEN, CLOSE = "<!-- bedside:table ", "<!-- /bedside:table -->"


class DocsError(ValueError):
    """A doc or JSON the renderer cannot use (one line, names the file)."""


def _f(v, spec: str = ".3f") -> str:
    return "n/a" if v is None or (isinstance(v, float) and v != v) else format(v, spec)


def _table_lines(lines: list[str]) -> list[str]:
    """The markdown table rows out of a report section (its heading and prose dropped)."""
    return [ln for ln in lines if ln.startswith("|")]


# --- evaluation.json / audit.json: the report's own sections, so doc and report agree ----
def _eval_models(res: dict) -> list[str]:
    from bedside.training.report import LABELS
    rows = ["| model | test AUROC [95 % CI] | AUPRC [95 % CI] |", "| --- | --- | --- |"]
    for k, m in res["models"].items():
        lo, hi = m.get("auroc_ci") or [None, None]
        plo, phi = m.get("auprc_ci") or [None, None]
        rows.append(f"| {LABELS.get(k, k)} | {_f(m.get('auroc'))} [{_f(lo)}, {_f(hi)}] | "
                    f"{_f(m.get('auprc'))} [{_f(plo)}, {_f(phi)}] |")
    return rows


def _eval_endpoint(res: dict) -> list[str]:
    from bedside.training.report import endpoint_markdown
    return _table_lines(endpoint_markdown(res["alarm_burden"]))


def _eval_goals(res: dict) -> list[str]:
    from bedside.training.goals import markdown
    return _table_lines(markdown(res["goals"]))


def _study_variants(res: dict) -> list[str]:
    from bedside.training.report import study_variants_table
    return study_variants_table(res)


def _study_differences(res: dict) -> list[str]:
    from bedside.training.report import study_differences_table
    return study_differences_table(res)


def _audit(res: dict) -> list[str]:
    from bedside.training.audit import markdown
    return _table_lines(markdown(res))


# --- personalization.json / personalization_pipeline.json ---------------------------------
def _group_label(group: str) -> str:
    return "all" if group == "overall" else group.replace("_", " ")


def _groups(r: dict) -> list[str]:
    """All patients first, then the subgroup (the JSON's keys are sorted)."""
    return sorted(r["pooled"], key=lambda g: g != "overall")


def _pz_cohorts(r: dict) -> list[str]:
    rows = ["| cohort seed | group | arm | on / off at | AUROC | events alarmed | "
            "false alarms / patient-day | alarm on | reduction [95 % CI] |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for cs, s in r["cohort_seeds"].items():
        for group in _groups(r):
            red, ci = s[group], s[group]["false_alarm_reduction_ci"]
            for arm in ("without", "with"):
                m, al = s[arm][group], s[arm]["alarm"]
                fa, fci = m["false_alarms_per_patient_day"], m.get("false_alarms_per_patient_day_ci") or [None, None]
                rows.append(
                    f"| {cs} | {_group_label(group)} | {arm} | {al['target_sensitivity']:.2f} / "
                    f"{al['off_sensitivity']:.2f} | {_f(m['auroc'])} | "
                    f"{m['events_alarmed']}/{m['events']} | {_f(fa, '.2f')} "
                    f"[{_f(fci[0], '.2f')}, {_f(fci[1], '.2f')}] | "
                    f"{_f(m['alarm_time_fraction'], '.0%')} | "
                    + ("" if arm == "without" else
                       f"{_f(red['false_alarm_reduction'], '.1%')} [{_f(ci[0], '.1%')}, "
                       f"{_f(ci[1], '.1%')}]") + " |")
    return rows


def _pz_pooled(r: dict) -> list[str]:
    rows = ["| group | patients | events alarmed without → with | sensitivity change "
            "[95 % CI] | false alarms / patient-day without → with | reduction [95 % CI] | "
            "alarm on without / with |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for group in _groups(r):
        g = r["pooled"][group]
        ci, sci = g["false_alarm_reduction_ci"], g["event_sensitivity_change_ci"]
        fa, at = g["false_alarms_per_patient_day"], g["alarm_time_fraction"]
        rows.append(
            f"| {_group_label(group)} | {g['patients']} | {g['events_alarmed']['without']} → "
            f"{g['events_alarmed']['with']} of {g['events']} | "
            f"{_f(g['event_sensitivity_change'], '+.3f')} [{_f(sci[0], '+.3f')}, "
            f"{_f(sci[1], '+.3f')}] | {_f(fa['without'], '.2f')} → {_f(fa['with'], '.2f')} | "
            f"{_f(g['false_alarm_reduction'], '.1%')} [{_f(ci[0], '.1%')}, {_f(ci[1], '.1%')}] | "
            f"{_f(at['without'], '.0%')} / {_f(at['with'], '.0%')} |")
    return rows


def _pz_subgroup(r: dict) -> list[str]:
    """Per cohort: the subgroup's size per split, and its overlap with the simulator's
    hidden flag (reported, never used)."""
    name = (r.get("subgroup") or {}).get("name", "subgroup").replace("_", " ")
    rows = [f"| cohort seed | {name}: train | val | test | of the hidden `atypical` flag's "
            "patients, in it / not |", "| --- | --- | --- | --- | --- |"]
    for cs, s in r["cohort_seeds"].items():
        z = s["subgroup_sizes"]
        h = z.get("hidden_atypical_flag")
        rows.append(f"| {cs} | " + " | ".join(
            f"{z[sp]['in_subgroup']} of {z[sp]['patients']}" for sp in ("train", "val", "test"))
            + " | " + ("n/a" if h is None else f"{h['in_subgroup']} / {h['not_in_subgroup']}")
            + " |")
    return rows


# file stem -> table name -> renderer (the JSON's object -> markdown table rows)
TABLES: dict[str, dict[str, Callable[[dict], list[str]]]] = {
    "evaluation": {"models": _eval_models, "alarm_burden.endpoint": _eval_endpoint,
                   "goals": _eval_goals},
    "audit": {"variables": _audit},
    "study": {"variants": _study_variants, "differences": _study_differences},
    "personalization": {"cohorts": _pz_cohorts, "pooled": _pz_pooled,
                        "subgroup": _pz_subgroup},
    "personalization_pipeline": {"cohorts": _pz_cohorts, "pooled": _pz_pooled,
                                 "subgroup": _pz_subgroup},
}


def split_name(name: str) -> tuple[str, str]:
    stem, _, table = name.partition(".")
    if stem not in TABLES or table not in TABLES[stem]:
        known = ", ".join(f"{s}.{t}" for s, ts in TABLES.items() for t in ts)
        raise DocsError(f"unknown table {name!r} (known: {known})")
    return stem, table


def render_table(name: str, run_dir: Path, cache: dict) -> str | None:
    """The block body for `name` from RUN_DIR's JSON, None when that JSON is absent."""
    stem, table = split_name(name)
    path = run_dir / f"{stem}.json"
    if stem not in cache:
        try:
            cache[stem] = json.loads(path.read_text()) if path.is_file() else None
        except (OSError, ValueError) as e:
            raise DocsError(f"{path}: not readable JSON ({e})") from None
    if cache[stem] is None:
        return None
    try:
        rows = TABLES[stem][table](cache[stem])
    except (KeyError, TypeError, IndexError) as e:
        raise DocsError(f"{path}: no field {e} for table {name}") from None
    return "\n".join(rows) + "\n"


def render_doc(text: str, run_dir: Path, where: str = "doc",
               cache: dict | None = None) -> tuple[str, list[str], list[str]]:
    """(new text, names of the blocks that changed, names whose JSON is not in RUN_DIR)."""
    if text.count(OPEN) != text.count(CLOSE) or text.count(OPEN) != len(BLOCK.findall(text)):
        raise DocsError(f"{where}: unbalanced or malformed `bedside:table` markers")
    cache = {} if cache is None else cache
    changed, missing = [], []

    def sub(m: re.Match) -> str:
        body = render_table(m["name"], run_dir, cache)
        if body is None:
            missing.append(m["name"])
            return m[0]
        if body != m["body"]:
            changed.append(m["name"])
        return m[1] + body + m[4]
    return BLOCK.sub(sub, text), changed, missing


def add_arguments(p: argparse.ArgumentParser) -> None:
    from bedside import rundir
    rundir.add_argument(p, "whose evaluation.json / audit.json / personalization*.json fill "
                           "the tables")
    p.add_argument("--doc", type=Path, action="append", default=None,
                   help=f"a doc to render (repeatable; default {', '.join(DOCS)})")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if a table differs from RUN_DIR's JSON")


def run(args: argparse.Namespace) -> int:
    from bedside import command
    return command.call(docs, args)


def docs(run_dir: Path | None = None, *, doc: list[Path] | None = None,
         check: bool = False) -> int:
    """Render (or --check) the docs' figure tables: `bedside docs` as a function. It writes
    only the docs it renders (kit files), never into RUN_DIR."""
    from bedside.fileio import write_text
    from bedside.kitfiles import PACKAGE_DIR
    from bedside import command, rundir
    args = command.namespace(add_arguments, "docs", run_dir=run_dir, doc=doc, check=check)
    args.run_dir = rundir.resolve(args.run_dir, "docs")
    if not args.run_dir.is_dir():
        print(f"error: {args.run_dir}: run directory not found", file=sys.stderr)
        return 2
    docs = args.doc or [PACKAGE_DIR.parent / d for d in DOCS]
    drift = False
    cache: dict = {}
    for doc in docs:
        try:
            text = doc.read_text()
        except OSError as e:
            print(f"error: {doc}: {e.strerror or e}", file=sys.stderr)
            return 2
        try:
            new, changed, missing = render_doc(text, args.run_dir, str(doc), cache)
        except DocsError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        for name in missing:
            print(f"{doc}: {name}: skipped ({name.split('.')[0]}.json not in {args.run_dir})")
        if args.check:
            for name in changed:
                print(f"{doc}: {name}: differs from {args.run_dir}/{name.split('.')[0]}.json")
            drift |= bool(changed)
        elif changed:
            write_text(doc, new)
            print(f"{doc}: rendered {', '.join(changed)}")
        else:
            print(f"{doc}: up to date")
    return 1 if drift else 0

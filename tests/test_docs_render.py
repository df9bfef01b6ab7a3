"""`bedside docs RUN_DIR`: doc tables rendered from a run's JSON, and --check on drift."""
from __future__ import annotations

import json

from bedside.cli import main

AUDIT = {"threshold": 0.6, "passed": True, "flagged": [],
         "variables": {"time_since_admission": {"kind": "nuisance", "auroc_val": 0.548,
                                                "auroc_test": 0.536, "flagged": False},
                       "lactate": {"kind": "privileged", "auroc_val": 0.759,
                                   "auroc_test": 0.744, "flagged": False}}}
DOC = ("# Doc\n\nProse stays.\n\n<!-- bedside:table audit.variables -->\n"
       "(filled by `bedside docs RUN_DIR`)\n<!-- /bedside:table -->\n\n"
       "<!-- bedside:table personalization.pooled -->\n<!-- /bedside:table -->\nEnd.\n")


def _setup(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "audit.json").write_text(json.dumps(AUDIT))
    doc = tmp_path / "doc.md"
    doc.write_text(DOC)
    return run, doc


def test_renders_a_table_from_the_json_and_checks_drift(tmp_path, capsys):
    run, doc = _setup(tmp_path)
    assert main(["docs", str(run), "--doc", str(doc), "--check"]) == 1     # placeholder != JSON
    assert doc.read_text() == DOC                                           # --check writes nothing
    assert main(["docs", str(run), "--doc", str(doc)]) == 0
    text = doc.read_text()
    assert "| time_since_admission | nuisance | 0.548 | 0.536 |  |" in text
    assert "| lactate | privileged | 0.759 | 0.744 |  |" in text
    assert "(filled by" not in text and text.startswith("# Doc\n\nProse stays.") and text.endswith("End.\n")
    # personalization.json is not in the run: that block is left as it is and named
    assert "<!-- bedside:table personalization.pooled -->\n<!-- /bedside:table -->" in text
    assert "personalization.pooled: skipped" in capsys.readouterr().out
    assert main(["docs", str(run), "--doc", str(doc), "--check"]) == 0    # in step
    assert main(["docs", str(run), "--doc", str(doc)]) == 0 and doc.read_text() == text
    # the JSON moves on: --check names the block and fails, the doc is untouched
    AUDIT2 = json.loads(json.dumps(AUDIT))
    AUDIT2["variables"]["lactate"]["auroc_test"] = 0.701
    (run / "audit.json").write_text(json.dumps(AUDIT2))
    capsys.readouterr()
    assert main(["docs", str(run), "--doc", str(doc), "--check"]) == 1
    assert "audit.variables: differs from" in capsys.readouterr().out
    assert doc.read_text() == text
    # a hand edit of a rendered figure is drift too
    (run / "audit.json").write_text(json.dumps(AUDIT))
    doc.write_text(text.replace("0.744", "0.745"))
    assert main(["docs", str(run), "--doc", str(doc), "--check"]) == 1


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    run, doc = _setup(tmp_path)
    doc.write_text("<!-- bedside:table audit.nothing -->\n<!-- /bedside:table -->\n")
    assert main(["docs", str(run), "--doc", str(doc)]) == 2
    assert "unknown table 'audit.nothing'" in capsys.readouterr().err
    doc.write_text("<!-- bedside:table audit.variables -->\nno end\n")
    assert main(["docs", str(run), "--doc", str(doc)]) == 2
    assert "unbalanced" in capsys.readouterr().err
    doc.write_text(DOC)
    (run / "audit.json").write_text("{not json")
    assert main(["docs", str(run), "--doc", str(doc)]) == 2
    err = capsys.readouterr().err
    assert "audit.json" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    (run / "audit.json").write_text(json.dumps({"threshold": 0.6}))
    assert main(["docs", str(run), "--doc", str(doc)]) == 2
    assert "no field" in capsys.readouterr().err
    assert main(["docs", str(tmp_path / "absent"), "--doc", str(doc)]) == 2


def test_the_kit_docs_markers_name_known_tables():
    """Every block in the kit's docs names a table the renderer knows."""
    from bedside.docs import BLOCK, DOCS, split_name
    from bedside.kitfiles import PACKAGE_DIR
    names = [m["name"] for d in DOCS for m in BLOCK.finditer((PACKAGE_DIR.parent / d).read_text())]
    assert names, "the docs carry no bedside:table block"
    for name in names:
        split_name(name)


def test_study_tables_render_from_study_json(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    study = {"seeds": [0, 1], "variants": {
        "kd": {"auroc": [0.975, 0.972], "auprc": [0.67, 0.66]},
        "scratch": {"auroc": [0.972, 0.969], "auprc": [0.61, 0.64]}},
        "differences": {"kd - scratch": {"auroc": 0.003, "auroc_ci": [-0.001, 0.006],
                                         "auprc": 0.04, "auprc_ci": [0.01, 0.05]}}}
    (run / "study.json").write_text(json.dumps(study))
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- bedside:table study.variants -->\n<!-- /bedside:table -->\n"
                   "<!-- bedside:table study.differences -->\n<!-- /bedside:table -->\n")
    assert main(["docs", str(run), "--doc", str(doc)]) == 0
    text = doc.read_text()
    assert "| kd | 0.975, 0.972 | 0.974 | 0.665 |" in text
    assert "| scratch | 0.972, 0.969 | 0.970 | 0.625 |" in text
    assert "| kd - scratch | +0.0030 [-0.0010, +0.0060] | +0.0400 [+0.0100, +0.0500] |" in text
    # each block holds its own table only
    first = text.split("<!-- /bedside:table -->")[0]
    assert "kd - scratch" not in first and "| variant |" in first

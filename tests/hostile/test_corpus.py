"""The hostile-input corpus (bedside/bench/hostile.py) over every CLI command, in CI.

The corpus is generated into a temporary folder from the session's converted quick run
(with its host firmware built): shell metacharacters in paths, folders bedside did not
create and a user's files inside ones it did, a file as RUN_DIR, manifests with
non-finite, out-of-range, mistyped, traversing or deeply nested fields, truncated and
linked models, cohort files of the wrong rank, width, dtype or offsets or with huge
headers, CSV files that blow up memory or carry a byte-order mark, symlinks, read-only
folders, a full disk (RLIMIT_FSIZE), unicode and overlong paths, a refused port. Each case
runs in a fresh interpreter under a memory limit; a case passes when the exit code is in
its command's table, no traceback is printed, a failure says why in one line, and no file
outside the command's own folders changed. The summary (cases per command and per class)
is printed and written to the test's temporary folder as hostile.json.
"""
from __future__ import annotations

import json

from bedside.bench import hostile


def test_every_hostile_case_passes(converted_run_dir, host_firmware, tmp_path,
                                   record_property):
    summary, results = hostile.run_corpus(converted_run_dir, tmp_path / "corpus")
    (tmp_path / "hostile.json").write_text(json.dumps({"summary": summary,
                                                       "results": results}, indent=1))
    print(f"\nhostile corpus: {summary['passed']}/{summary['cases']} cases passed")
    for command, s in summary["per_command"].items():
        print(f"  {command:<24} {s['passed']:>3}/{s['cases']}")
        record_property(f"hostile {command}", f"{s['passed']}/{s['cases']}")
    for kind, s in summary["per_class"].items():
        print(f"  [{kind}] {s['passed']}/{s['cases']}")
    assert summary["cases"] >= 60
    assert set(summary["per_command"]) >= {
        "data", "train", "distill", "evaluate", "study", "convert", "build", "flash",
        "verify", "demo", "bench safety", "bench personalization", "bench boards",
        "bench reliability"}
    assert not summary["failed"], json.dumps(summary["failed"], indent=1)


def test_a_user_file_in_a_marked_run_is_never_replaced(tmp_path):
    """The ownership rule in-process: a file the marker does not list is kept and refused
    as a target; the kit's own files are recorded in the marker."""
    import pytest
    from bedside import fileio, ownership
    run = tmp_path / "run"
    with ownership.session():
        ownership.claim(run)
        fileio.write_text(run / "a.txt", "kit\n")
    assert ownership.written(run) == {"a.txt"}
    (run / "mine.txt").write_text("user\n")
    with ownership.session() as state:
        ownership.claim(run)
        with pytest.raises(ownership.ForeignDirError):
            fileio.write_text(run / "mine.txt", "kit\n")
        fileio.write_text(run / "a.txt", "kit again\n")
        state["ok"] = True
    assert (run / "mine.txt").read_text() == "user\n"
    assert ownership.written(run) == {"a.txt"}


def test_a_failed_command_leaves_no_empty_run_folder(tmp_path):
    from bedside import ownership
    run = tmp_path / "new" / "run"
    with ownership.session() as state:
        ownership.claim(run)
        state["ok"] = False
    assert not (tmp_path / "new").exists()


def test_replace_dir_carries_the_users_files_over(tmp_path):
    from bedside import ownership
    out = tmp_path / "out"
    for text in ("one", "two"):
        tmp = tmp_path / f"tmp-{text}"
        tmp.mkdir()
        (tmp / "report.md").write_text(text)
        ownership.replace_dir(tmp, out)
        if text == "one":
            (out / "notes.txt").write_text("mine")
            (out / "sub").mkdir()
            (out / "sub" / "data.csv").write_text("a,b")
    assert (out / "report.md").read_text() == "two"
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "sub" / "data.csv").read_text() == "a,b"
    assert ownership.written(out) == {"report.md"}


def test_a_failed_command_removes_the_run_folder_it_made_before_any_stage_finished(tmp_path):
    from bedside import fileio, ownership
    run = tmp_path / "run"
    with ownership.session() as state:
        ownership.claim(run, done_when="run.json")
        fileio.write_bytes(run / "data" / "cohort.npz", b"half")    # then the disk fills
        state["ok"] = False
    assert not run.exists()
    with ownership.session() as state:               # a finished stage: the run is kept
        ownership.claim(run, done_when="run.json")
        fileio.write_text(run / "run.json", "{}")
        state["ok"] = False
    assert (run / "run.json").is_file()

"""`bedside study`: Student variants x seeds on one split, paired CIs in evaluation.json."""
import json
import shutil
import subprocess
import sys

from tests.fixtures.training import run_bedside


def test_study_writes_per_seed_metrics_and_paired_cis(quick_run_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(quick_run_dir, run)
    proc = subprocess.run([sys.executable, "-m", "bedside.cli", "study", str(run), "--quick"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "bedside evaluate" in proc.stderr     # evaluate first
    run_bedside("evaluate", str(run), "--quick")
    run_bedside("study", str(run), "--quick", "--seeds", "2")
    st = json.loads((run / "evaluation.json").read_text())["study"]
    assert st["seeds"] == [0, 1]
    assert set(st["variants"]) == {"kd", "kd_no_attention", "kd_map_drop", "scratch"}
    for v in st["variants"].values():
        assert len(v["auroc"]) == len(v["auprc"]) == 2
    assert st["variants"]["kd_no_attention"]["distill"]["beta"] == 0
    assert st["variants"]["kd_map_drop"]["distill"]["attention_focus"] == "map_drop"
    for k in ("kd - scratch", "kd - kd_no_attention", "kd - kd_map_drop"):
        d = st["differences"][k]
        assert d["auroc_ci"][0] <= d["auroc_ci"][1] and d["auprc_ci"][0] <= d["auprc_ci"][1]
    assert "## Seed study" in (run / "report.md").read_text()
    assert st["differences"]["kd - scratch"]["ci_over"] == "seeds and patients"
    assert len(st["differences"]["kd - scratch"]["auroc_per_seed"]) == 2
    g = json.loads((run / "evaluation.json").read_text())["goals"]["kd_over_scratch"]
    assert g["value"] == st["differences"]["kd - scratch"]["auroc"] and g["seeds"] == 2
    assert not g["pass"] and g["recipe_is_deployed"] is False    # 2 seeds, study recipe
    # one Teacher pass shared by distill and every seed and arm (same quick windows)
    assert len(list((run / "teacher" / "targets").glob("*.npz"))) == 1
    # a later evaluate of the same cohort and Teacher keeps the study
    run_bedside("evaluate", str(run), "--quick")
    ev = json.loads((run / "evaluation.json").read_text())
    assert ev["study"] == st
    assert "study" in json.loads((run / "run.json").read_text())["metrics"]
    assert st["reused_from_distill"] == []          # a shorter recipe: nothing to reuse

    # the deployed recipe: the run's own KD and scratch Students stand for seed 0
    bad = subprocess.run([sys.executable, "-m", "bedside.cli", "study", str(run), "--quick",
                          "--variants", "kd,bogus"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown variant bogus" in bad.stderr
    assert "Traceback" not in bad.stderr
    run_bedside("study", str(run), "--quick", "--seeds", "2", "--deployed",
                "--variants", "scratch")
    dep = json.loads((run / "study.json").read_text())
    assert set(dep["variants"]) == {"kd", "scratch"} and dep["recipe_is_deployed"]
    assert dep["reused_from_distill"] == ["kd (seed 0)", "scratch (seed 0)"]
    for k in ("student_kd", "student_scratch"):         # the same Students, the same scores
        v = dep["variants"][k.replace("student_", "")]["auroc"][0]
        assert abs(v - ev["models"][k]["auroc"]) < 1e-9, k

"""Markdown report and PNG plots for `bedside evaluate` (matplotlib, Agg backend)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import metrics

LABELS = {"teacher": "Teacher", "student_kd": "Student (KD)",
          "student_scratch": "Student (scratch)", "news2": "NEWS2", "current_map": "current MAP"}


def plots(res: dict, out: Path) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out.mkdir(parents=True, exist_ok=True)
    y, probs = res["_arrays"]["y"], res["_arrays"]["probs"]
    files = []

    def save(fig, name):
        fig.tight_layout()
        fig.savefig(out / name, dpi=110, metadata={"Software": None})
        plt.close(fig)
        files.append(name)

    fig, ax = plt.subplots(figsize=(5, 4.5))
    for k, p in probs.items():
        fp, tp = metrics.roc_curve(y, p)
        ax.plot(fp, tp, label=f"{LABELS[k]} ({res['models'][k]['auroc']:.3f})")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set(xlabel="false-positive rate", ylabel="sensitivity", title="ROC (test windows)")
    ax.legend(fontsize=8)
    save(fig, "roc.png")

    fig, ax = plt.subplots(figsize=(5, 4.5))
    for k, p in probs.items():
        r, pr = metrics.pr_curve(y, p)
        ax.plot(r, pr, label=f"{LABELS[k]} ({res['models'][k]['auprc']:.3f})")
    ax.axhline(float(np.mean(y)), color="k", ls=":", lw=0.8)
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (test windows)")
    ax.legend(fontsize=8)
    save(fig, "pr.png")

    fig, ax = plt.subplots(figsize=(5, 4.5))
    for k, p in probs.items():
        idx = np.minimum((np.asarray(p) * 10).astype(int), 9)
        xs = [p[idx == b].mean() for b in range(10) if (idx == b).any()]
        ys = [y[idx == b].mean() for b in range(10) if (idx == b).any()]
        ax.plot(xs, ys, "o-", ms=3, label=LABELS[k])
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set(xlabel="predicted probability", ylabel="observed frequency", title="Calibration")
    ax.legend(fontsize=8)
    save(fig, "calibration.png")

    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.scatter(probs["teacher"], probs["student_kd"], s=2, alpha=0.3,
               c=np.where(y > 0, "tab:red", "tab:blue"))
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set(xlabel="Teacher probability", ylabel="Student (KD) probability",
           title="Teacher vs Student (red: positive windows)")
    save(fig, "teacher_vs_student.png")
    return files


def _fmt(v, digits=3):
    return "n/a" if v is None else f"{v:.{digits}f}"


def markdown(res: dict, plot_files: list[str], command: str) -> str:
    lines = [f"# Evaluation report", "", f"Command: `{command}`  ", f"Test split: "
             f"{res['n_patients']} patients, horizon {res['horizon_min']} min, window "
             f"{res['window']['length']} / stride {res['window']['stride']}; CIs: 95 % "
             f"patient bootstrap ({res['bootstrap']} resamples); sensitivity at an alarm "
             f"rate of {res['alarm_rate']:.0%} of windows.", "", "## Targets", "",
             "| target | result | value |", "| --- | --- | --- |"]
    for t in res["targets"]:
        lines.append(f"| {t['target']} | {'PASS' if t['pass'] else 'FAIL'} | {t['value']} |")
    header = ("| model | AUROC [95 % CI] | AUPRC [95 % CI] | Brier | ECE | sens@rate | params "
              "| MACs | weight bytes |")
    for title, block in [("All test windows", res["models"])] + \
            [(f"Subgroup: {k}", v) for k, v in res["subgroups"].items()]:
        lines += ["", f"## {title}", "", header, "| --- " * 9 + "|"]
        for k, m in block.items():
            cost = res["models"][k]
            if m.get("auroc") is None:
                lines.append(f"| {LABELS[k]} | n/a (positives: {m['n_positive']}) | | | | | "
                             f"{cost['params']} | {cost['macs']} | {cost['weight_bytes']} |")
                continue
            lines.append(
                f"| {LABELS[k]} | {_fmt(m['auroc'])} [{_fmt(m['auroc_ci'][0])}, "
                f"{_fmt(m['auroc_ci'][1])}] | {_fmt(m['auprc'])} [{_fmt(m['auprc_ci'][0])}, "
                f"{_fmt(m['auprc_ci'][1])}] | {_fmt(m['brier'], 4)} | {_fmt(m['ece'], 4)} | "
                f"{_fmt(m['sensitivity_at_alarm_rate'])} | {cost['params']} | {cost['macs']} | "
                f"{cost['weight_bytes']} |")
    lines += ["", "Teacher weight bytes are float32 (it is never quantized); Students' are "
              "int8 kernels + int32 biases. NEWS2 and current MAP are scores; their Brier/ECE "
              "use Platt scaling fit on the validation split.", "", "## Plots", ""]
    lines += [f"![{f}](plots/{f})" for f in plot_files]
    return "\n".join(lines) + "\n"

"""The quick pipeline end to end: run directory, Student contract, int8 conversion,
evaluation, reproducibility and tf.distribute on two logical CPUs."""
import json
import shutil

import numpy as np
import pytest

from tests.fixtures.training import make_quick_run, run_bedside

ALLOWED_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MEAN", "AVERAGE_POOL_2D",
               "MAX_POOL_2D", "ADD", "MUL", "RESHAPE", "EXPAND_DIMS", "SQUEEZE", "LOGISTIC",
               "RELU", "RELU6", "CONCATENATION"}


def test_run_dir_contents(quick_run_dir):
    for rel in ("data/cohort.npz", "teacher/model.keras", "student/model.keras",
                "student_scratch/model.keras", "run.json"):
        assert (quick_run_dir / rel).is_file(), rel
    run = json.loads((quick_run_dir / "run.json").read_text())
    cfg = run["config"]
    assert cfg["window"] == {"length": 60, "stride": 5} and cfg["horizon_min"] == 60
    assert cfg["seed"] == 0 == run["seed"]
    alarm = cfg["alarm"]
    assert 0 < alarm["off_threshold"] <= alarm["threshold"] < 1 and alarm["min_duration"] >= 1
    assert run["alarm"] == alarm and run["window"] == cfg["window"]
    assert {"numpy", "tensorflow", "keras", "python"} <= set(run["versions"])
    assert {"data", "train", "distill"} <= set(run["metrics"])
    assert "bedside distill" in run["stages"]["distill"]["command"]


def _int8_model(model, x_q):
    import tensorflow as tf

    def rep():
        lo = np.full((1, 60, 7), -4.0, np.float32)
        hi = np.full((1, 60, 7), 127 / 32, np.float32)
        yield [lo]
        yield [hi]
        for w in x_q[:200]:
            yield [w[None].astype(np.float32) / 32]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    return conv.convert()


def test_student_contract_and_int8_conversion(quick_run_dir):
    from tensorflow.lite.python import schema_py_generated as schema
    from bedside.reference.tflm import interpreter

    from bedside.contract import preprocess
    from bedside.training import models
    from bedside.sources.windows import window_dataset
    student = models.load(quick_run_dir / "student" / "model.keras")
    assert len(student.inputs) == 1 and tuple(student.inputs[0].shape) == (None, 60, 7)
    assert len(student.outputs) == 1 and tuple(student.outputs[0].shape) == (None, 1)
    teacher = models.load(quick_run_dir / "teacher" / "model.keras")
    assert models.int8_weight_bytes(student) <= 32 * 1024
    assert models.max_activation_bytes(student) <= 8 * 1024
    x, y, _, _ = window_dataset(quick_run_dir, "test")
    assert len(x) > 0 and teacher.count_params() > student.count_params()
    flat = _int8_model(student, x)
    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(flat, 0))
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    ops = {names[max(oc.builtinCode, oc.deprecatedBuiltinCode)] for oc in m.operatorCodes}
    assert ops <= ALLOWED_OPS, ops - ALLOWED_OPS
    interp = interpreter(flat)
    p_keras = student(preprocess.to_model_input(x[:64]), training=False).numpy()[:, 0]
    p_int8 = []
    for w in x[:64]:
        interp.set_input(w[None], 0)
        interp.invoke()
        p_int8.append((int(interp.get_output(0).reshape(-1)[0]) + 128) / 256.0)
    assert np.max(np.abs(np.array(p_int8) - p_keras)) < 0.08


def test_evaluate_writes_report(quick_run_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(quick_run_dir, run)
    run_bedside("evaluate", str(run), "--quick")
    res = json.loads((run / "evaluation.json").read_text())
    models = ("teacher", "student_kd", "student_scratch", "news2", "current_map",
              "own_baseline", "logistic")
    for name in models:
        m = res["models"][name]
        for key in ("auroc", "auprc", "auroc_ci", "auprc_ci", "brier", "ece",
                    "sensitivity_at_alarm_rate", "params", "macs", "weight_bytes"):
            assert key in m, (name, key)
        assert 0 <= m["auroc"] <= 1 and m["auroc_ci"][0] <= m["auroc_ci"][1]
        assert name in res["subgroups"]["rapid_map_drop"]
        assert name in res["subgroups"]["full_context"]
        for op in ("policy", "equal_event_sensitivity"):
            b = res["alarm_burden"]["models"][name][op]
            assert b["events"] > 0 and 0 <= b["events_alarmed"] <= b["events"]
            for key in ("false_alarms_per_patient_day", "event_sensitivity", "alarm_precision",
                        "median_lead_min"):
                assert key + "_ci" in b, (name, op, key)
            assert b["false_alarms_per_patient_day"] >= 0
    assert res["threshold_source"] == "validation"
    # alarm burden as the endpoint: a curve per model and the device (issue 23)
    ep = res["alarm_burden"]["endpoint"]
    assert set(ep) == set(models) | {"device"}
    for name, m in ep.items():
        sens = [c[0] for c in m["curve"]]
        assert sens == sorted(sens) and all(0 <= c[0] <= 1 and c[1] >= 0 for c in m["curve"])
        assert m["operating_point"]["chosen_on"] == ("val/device" if name == "device" else "val")
        assert m["operating_point"]["min_duration"] in m["operating_point"]["min_durations_tried"]
        for key in ("false_alarms_per_patient_day", "event_sensitivity", "alarm_time_fraction",
                    "median_lead_min"):
            assert key in m and key + "_ci" in m, (name, key)
    assert ep["device"]["safety_floor"] == "on" and ep["device"]["model"] == "student_kd"
    g = res["goals"]
    assert set(g) == {"teacher_edge_kept", "beats_strongest_baseline", "kd_over_scratch",
                      "device_false_alarms"}
    assert all({"value", "ci", "pass"} <= set(v) for v in g.values())
    assert g["beats_strongest_baseline"]["baseline"] in ("logistic", "own_baseline", "news2")
    audit = json.loads((run / "audit.json").read_text())
    assert audit["threshold"] == 0.6 and isinstance(audit["passed"], bool)
    assert {v["kind"] for v in audit["variables"].values()} == {"nuisance", "privileged"}
    assert res["audit"]["passed"] == audit["passed"]
    # the device's alarm is the deployed alarm: the device row's operating point, chosen
    # on validation by the endpoint rule with the floor (bedside distill)
    run_cfg = json.loads((run / "run.json").read_text())["config"]
    dev_op = ep["device"]["operating_point"]
    assert dev_op["deployed"] and run_cfg["alarm"]["chosen_on"] == "val/device"
    for k in ("threshold", "off_threshold", "min_duration"):
        assert dev_op[k] == run_cfg["alarm"][k]
    assert res["alarm_burden"]["models"]["student_kd"]["policy"]["threshold"] == \
        run_cfg["alarm"]["threshold"]
    vs = res["versus_strongest_baseline"]
    assert vs["baseline"] == max(("news2", "current_map", "own_baseline", "logistic"),
                                 key=lambda b: res["val_auroc"][b])
    assert vs["auroc_difference_ci"][0] <= vs["auroc_difference"] <= vs["auroc_difference_ci"][1]
    assert res["models"]["student_kd"]["params"] < res["models"]["teacher"]["params"]
    assert len(res["targets"]) >= 4
    assert "physionet_utility" not in res      # only for --source physionet runs
    report = (run / "report.md").read_text()
    assert "## Targets" in report and "rapid_map_drop" in report
    assert "## Alarm burden" in report and "strongest baseline" in report
    assert "## Alarm burden: the endpoint" in report and "## Goals" in report
    assert "## Shortcut audit" in report
    art = res["artifacts"]                 # simulated cohort: with vs without artifacts
    assert art["with"]["events"] == art["without"]["events"] > 0
    assert "Monitor artifacts" in report
    for png in ("roc.png", "pr.png", "calibration.png", "teacher_vs_student.png",
                "alarm_burden.png"):
        assert (run / "plots" / png).read_bytes()[:4] == b"\x89PNG"
    assert "evaluate" in json.loads((run / "run.json").read_text())["metrics"]


def test_same_seed_same_metrics(quick_run_dir, tmp_path):
    again = make_quick_run(tmp_path / "again", seed=0)
    a = json.loads((quick_run_dir / "run.json").read_text())
    b = json.loads((again / "run.json").read_text())
    assert a["metrics"] == b["metrics"]
    assert a["config"]["alarm"] == b["config"]["alarm"]


def test_mirrored_strategy_on_two_logical_cpus(quick_run_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(quick_run_dir, run)
    proc = run_bedside("train", str(run), "--quick", "--epochs", "1",
                       "--strategy", "mirrored", "--cpu-devices", "2")
    assert "mirrored (2 replicas)" in proc.stdout
    run_json = json.loads((run / "run.json").read_text())
    assert run_json["stages"]["train"]["strategy"] == "mirrored"
    assert run_json["metrics"]["train"]["replicas"] == 2
    assert (run / "teacher" / "model.keras").is_file()


def test_missing_stage_is_a_clear_error(tmp_path):
    with pytest.raises(AssertionError, match="bedside data"):
        run_bedside("train", str(tmp_path / "empty"), "--quick")

"""Loaders for PhysioNet 2019 .psv and the long-format CSV, including malformed files."""
import numpy as np
import pytest

from bedside.sources.loaders import DataError, load_long_csv, load_psv, load_psv_dir
from bedside.contract.signals import MISSING

PSV_HEADER = ("HR|O2Sat|Temp|SBP|MAP|DBP|Resp|EtCO2|BaseExcess|HCO3|FiO2|pH|PaCO2|SaO2|AST|BUN|"
              "Alkalinephos|Calcium|Chloride|Creatinine|Bilirubin_direct|Glucose|Lactate|"
              "Magnesium|Phosphate|Potassium|Bilirubin_total|TroponinI|Hct|Hgb|PTT|WBC|"
              "Fibrinogen|Platelets|Age|Gender|Unit1|Unit2|HospAdmTime|ICULOS|SepsisLabel")


def psv_row(hr="NaN", spo2="NaN", temp="NaN", sbp="NaN", mp="NaN", dbp="NaN", rr="NaN",
            lactate="NaN", label="0", hour=1):
    cells = ["NaN"] * 41
    cells[:7] = [hr, spo2, temp, sbp, mp, dbp, rr]
    cells[22] = lactate
    cells[34:40] = ["65", "1", "0", "1", "-0.03", str(hour)]
    cells[40] = label
    return "|".join(cells)


def write_psv(path, rows):
    path.write_text("\n".join([PSV_HEADER] + rows) + "\n")
    return path


def test_psv_hold_and_sparse_and_onset(tmp_path):
    rows = [psv_row(hr="80", spo2="97", temp="37.2", sbp="120", mp="85", dbp="65", rr="16",
                    lactate="1.4", hour=1)]
    rows += [psv_row(hr="90", hour=h) for h in range(2, 4)]
    rows += [psv_row(hr="110", label="1", hour=h) for h in range(4, 11)]
    f = write_psv(tmp_path / "p000001.psv", rows)
    p = load_psv(f)
    assert p.raw.shape == (600, 7) and p.raw.dtype == np.int16
    assert (p.raw[:60, 0] == 80).all() and (p.raw[60:180, 0] == 90).all()
    assert list(p.raw[0]) == [80, 120, 65, 85, 97, 16, 372]   # hr sbp dbp map spo2 rr 0.1 degC
    assert (p.raw[60:, 1] == MISSING).all()
    assert p.privileged[0, 0] == 140 and (p.privileged[1:, 0] == MISSING).all()
    assert p.onset == 540          # first labelled hour (index 3) + 6 h
    sparse = load_psv(f, hourly="sparse")
    assert sparse.raw[0, 0] == 80 and sparse.raw[1, 0] == MISSING and sparse.raw[60, 0] == 90
    rows2 = [psv_row(hr="70", hour=h) for h in range(1, 20)]
    rows2[2] = psv_row(hr="75", label="1", hour=3)
    p2 = load_psv(write_psv(tmp_path / "p2.psv", rows2))
    assert p2.onset == 60 * (2 + 6)
    assert len(load_psv_dir(tmp_path)) == 2


@pytest.mark.parametrize("mutate, line, column", [
    (lambda rows: rows[:1] + [rows[1].replace("90", "9o", 1)] + rows[2:], 3, "HR"),
    (lambda rows: rows[:2] + ["|".join(rows[2].split("|")[:-2])], 4, None),
    (lambda rows: rows[:1] + [rows[1][:-1] + "2"], 3, "SepsisLabel"),
])
def test_psv_malformed_names_file_line_column(tmp_path, mutate, line, column):
    rows = [psv_row(hr="80", hour=1), psv_row(hr="90", hour=2), psv_row(hr="95", hour=3)]
    f = write_psv(tmp_path / "bad.psv", mutate(rows))
    with pytest.raises(DataError) as e:
        load_psv(f)
    msg = str(e.value)
    assert f"bad.psv:{line}:" in msg and "column '" in msg
    if column:
        assert f"column '{column}'" in msg


def test_psv_header_errors(tmp_path):
    f = tmp_path / "h.psv"
    f.write_text("HR|O2Sat|Temp\n80|97|37\n")
    with pytest.raises(DataError, match=r"h\.psv:1: column 'SBP'"):
        load_psv(f)


def test_long_csv(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("patient_id,time_min,hr,map,temp,lactate,event_onset_min\n"
                 "a,0,80,85,37.0,1.2,\n"
                 "a,1,82,,,,\n"
                 "a,5,84,80,,,\n"
                 "b,0,100,70,38.5,,30\n"
                 "b,2,105,,,,30\n")
    pa, pb = load_long_csv(f)
    assert pa.pid == "a" and pa.raw.shape == (6, 7) and pa.onset == -1
    assert list(pa.raw[:, 0]) == [80, 82, MISSING, MISSING, MISSING, 84]
    assert pa.raw[0, 6] == 370 and pa.raw[0, 1] == MISSING and pa.privileged[0, 0] == 120
    assert pb.onset == 30 and pb.raw[0, 3] == 70


@pytest.mark.parametrize("text, where", [
    ("patient_id,time_min,hr\na,0,80\na,x,81\n", "x.csv:3: column 'time_min'"),
    ("patient_id,time_min,hr\na,0,80\na,1,eighty\n", "x.csv:3: column 'hr'"),
    ("patient_id,time_min,hr,bogus\n", "x.csv:1: column 'bogus'"),
    ("patient_id,hr\n", "x.csv:1: column 'time_min'"),
    ("patient_id,time_min,hr\na,0,80\na,1\n", "x.csv:3: column"),
    ("patient_id,time_min,hr,event_onset_min\na,0,80,10\na,1,80,20\n",
     "x.csv:3: column 'event_onset_min'"),
    ("", "x.csv:1:"),
])
def test_long_csv_malformed(tmp_path, text, where):
    f = tmp_path / "x.csv"
    f.write_text(text)
    with pytest.raises(DataError) as e:
        load_long_csv(f)
    assert where in str(e.value)


def test_long_csv_accepts_a_byte_order_mark(tmp_path):
    f = tmp_path / "bom.csv"
    f.write_bytes(b"\xef\xbb\xbfpatient_id,time_min,hr\np1,0,80\np1,1,81\n")
    (p,) = load_long_csv(f)
    assert p.pid == "p1" and len(p.raw) == 2


def test_long_csv_caps_patient_minutes_before_allocating(tmp_path):
    """3,000 one-sample patients at minute 86399 would be 3.6 GB of arrays: refused from
    the counts, before anything is allocated (issue 25)."""
    f = tmp_path / "span.csv"
    f.write_text("patient_id,time_min,hr\n" + "".join(f"p{i},86399,80\n" for i in range(3000)))
    with pytest.raises(DataError, match=r"span\.csv:2: column 'time_min'.*more than"):
        load_long_csv(f)


@pytest.mark.parametrize("field, edit", [
    ("raw", lambda a: a.update(raw=a["raw"].reshape(-1))),
    ("raw", lambda a: a.update(raw=a["raw"][:, :5].copy())),
    ("raw", lambda a: a.update(raw=a["raw"].astype("float64"))),
    ("offsets", lambda a: a["offsets"].__setitem__(1, -5)),
    ("offsets", lambda a: a["offsets"].__setitem__(-1, 10 ** 9)),
    ("split", lambda a: a["split"].__setitem__(0, 7)),
])
def test_cohort_file_is_checked_field_by_field(tmp_path, field, edit):
    from bedside.sources.cohort import Cohort, CohortError
    from bedside.sources.simulator import simulate_patient
    path = tmp_path / "cohort.npz"
    Cohort.from_patients([simulate_patient(0, i) for i in range(4)], 0).save(path)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    edit(arrays)
    np.savez(path, **arrays)
    with pytest.raises(CohortError, match=f"cohort.npz: field '{field}'"):
        Cohort.load(path)

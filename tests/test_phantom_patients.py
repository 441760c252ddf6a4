"""The phantom's patients: GaitRec's sessions and session types, recovery, published speeds and
push-off losses, class similarity, the class-balanced TRAIN_BALANCED, and the reader's refusal
of a subject in both TRAIN and TEST."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from gaitsae.channels import CHANNELS
from gaitsae.data import load_dataset
from gaitsae.data.phantom import write_phantom
from gaitsae.data.phantom.patterns import planted_patterns
from gaitsae.data.phantom.population import TYPICAL_SEVERITY, sample_population
from gaitsae.errors import DataError
from tests.csvedit import edit, with_cell


@pytest.fixture(scope="module")
def patients():
    return sample_population(np.random.default_rng(4), 600, patients=True)


def _per_subject(sessions: pd.DataFrame) -> pd.DataFrame:
    return sessions.drop_duplicates("SUBJECT_ID").set_index("SUBJECT_ID")


def test_sessions__patients_have_about_four_with_gaitrec_session_types(patients):
    s = patients.sessions
    ill = s["class_label"].ne("HC")
    per_patient = s[ill].groupby("SUBJECT_ID").size()
    assert 3.4 <= per_patient.mean() <= 4.4  # GaitRec: 3.9 sessions per subject
    assert set(s["SESSION_TYPE"]) == {1, 2, 3} and set(s["READMISSION"]) == {0, 1}
    first = s.groupby("SUBJECT_ID").head(1)
    assert (first["SESSION_TYPE"] == 1).all() and (first["READMISSION"] == 0).all()
    # A readmission's stay opens with type 3 (initial measurement after a readmission), then controls.
    stays = s.groupby(["SUBJECT_ID", "READMISSION"])["SESSION_TYPE"]
    opening = stays.head(1)
    assert (opening == np.where(s.loc[opening.index, "READMISSION"] == 1, 3, 1)).all()
    assert (s.drop(opening.index)["SESSION_TYPE"] == 2).all()
    assert 0.05 < s[ill].groupby("SUBJECT_ID")["READMISSION"].max().mean() < 0.2
    assert (s.loc[~ill, "READMISSION"] == 0).all()  # controls are not readmitted


def test_sessions__severity_falls_within_a_stay_and_dates_move_forward(patients):
    s = patients.sessions.assign(date=pd.to_datetime(patients.sessions["SESSION_DATE"], format="%d.%m.%Y %H:%M:%S"))
    ill = s[s["class_label"].ne("HC")]
    for _, stay in ill.groupby(["SUBJECT_ID", "READMISSION"]):
        assert (np.diff(stay["severity"].to_numpy()) < 0).all()
    assert (s.groupby("SUBJECT_ID")["date"].apply(lambda d: d.is_monotonic_increasing)).all()
    assert (s["date"].dt.year == 1901).all()
    readmitted = ill[ill["SESSION_TYPE"] == 3]
    admission = _per_subject(ill)["severity"]
    assert len(readmitted) and (readmitted["severity"].to_numpy() < admission.loc[readmitted["SUBJECT_ID"]].to_numpy()).all()


def test_patients__speeds_match_the_published_figures(patients):
    s, t = patients.sessions, patients.trials
    speed = t.groupby("session_row")["walking_speed_m_per_s"].mean()
    s = s.assign(speed=speed.reindex(range(len(s))).to_numpy())
    by_class = s.groupby("class_label")["speed"].mean()
    assert abs(by_class["C"] - 0.94) < 0.06  # calcaneal fracture, van Hoeve et al. 2017
    assert 0.10 < 1 - by_class["K"] / by_class["HC"] < 0.20  # knee: ~15 % slower than peers
    assert by_class["C"] < by_class["A"] < by_class["K"] < by_class["HC"]
    calcaneus = s[s["class_label"].eq("C")].groupby("SUBJECT_ID")["speed"].mean()
    assert 0.22 < calcaneus.std() < 0.36  # spread between patients: 0.94 ± 0.29 m/s (van Hoeve et al. 2017)
    assert abs(s.loc[s["class_label"].ne("HC"), "severity"].mean() - TYPICAL_SEVERITY) < 0.04
    first, later = s[s["SESSION_TYPE"].eq(1) & s["class_label"].ne("HC")], s[s["SESSION_TYPE"].eq(2) & s["class_label"].ne("HC")]
    assert later["speed"].mean() > first["speed"].mean()  # recovery: later sessions walk faster


def test_patterns__calcaneus_then_ankle_lose_most_push_off_and_classes_pair_up():
    p = planted_patterns()
    v, ap = CHANNELS.index("F_V"), CHANNELS.index("F_AP")
    push_off = {c: -p[c][v, 70:90].min() for c in "HKAC"}
    propulsion = {c: -p[c][ap, 75:90].min() for c in "HKAC"}
    assert push_off["C"] > push_off["A"] > max(push_off["H"], push_off["K"])
    assert propulsion["C"] > propulsion["A"] > max(propulsion["H"], propulsion["K"])

    def cos(a, b):
        a, b = p[a][[v, ap]].ravel(), p[b][[v, ap]].ravel()
        return a @ b / np.linalg.norm(a) / np.linalg.norm(b)
    assert cos("H", "K") > max(cos("H", "A"), cos("H", "C"))
    assert cos("A", "C") > max(cos("A", "H"), cos("A", "K"))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("patients")
    write_phantom(out, n_subjects=2, seed=6, with_patients=True, n_patients=60, progress=False)
    return out / "gaitrec"


def test_train_balanced__every_class_alike_one_session_per_subject_all_from_train(written):
    meta = pd.read_csv(written / "GRF_metadata.csv")
    balanced = meta[meta["TRAIN_BALANCED"] == 1]
    assert (balanced["TRAIN"] == 1).all() and (balanced["TEST"] == 0).all()
    counts = balanced["CLASS_LABEL"].value_counts()
    assert set(counts.index) == set(meta.loc[meta["TRAIN"] == 1, "CLASS_LABEL"])
    assert counts.nunique() == 1  # class-balanced, as GaitRec's
    assert balanced["SUBJECT_ID"].is_unique
    rarest = meta[meta["TRAIN"] == 1].drop_duplicates("SUBJECT_ID")["CLASS_LABEL"].value_counts().min()
    assert counts.iloc[0] == rarest


def test_truth__lists_the_contralateral_side_of_one_sided_patients(written):
    truth = pd.read_csv(written / "phantom_truth.csv")
    ill = truth["class_label"].ne("HC")
    assert ((truth["affected"] + truth["contralateral"])[ill] >= 1).all()
    assert (truth.loc[~ill, ["affected", "contralateral"]] == 0).all().all()
    assert (truth["affected"] * truth["contralateral"] == 0).all()


def test_reader__refuses_a_subject_in_both_train_and_test(written, tmp_path):
    data = tmp_path / "g"
    shutil.copytree(written, data, ignore=shutil.ignore_patterns("*_RAW_*"))
    meta = pd.read_csv(data / "GRF_metadata.csv")
    counts = meta.groupby("SUBJECT_ID").size()
    subject = int(counts[counts > 1].index[0])
    row = int(np.flatnonzero(meta["SUBJECT_ID"] == subject)[-1])  # its last session moves to TEST
    columns = list(meta.columns)
    value = {"TRAIN": "0", "TRAIN_BALANCED": "0", "TEST": "1"} if meta.loc[row, "TRAIN"] == 1 else \
        {"TRAIN": "1", "TRAIN_BALANCED": "0", "TEST": "0"}

    def flip(lines):
        for name, v in value.items():
            lines = with_cell(lines, row + 1, columns.index(name), v)
        return lines
    edit(data / "GRF_metadata.csv", flip)
    with pytest.raises(DataError) as err:
        load_dataset(data, cache=False)
    message = str(err.value)
    assert "\n" not in message and "GRF_metadata.csv" in message and f"subject {subject} " in message
    assert "TRAIN (row" in message and "TEST (row" in message
    load_dataset(written, cache=False)  # the phantom as written is accepted


def test_patients__same_arguments_give_identical_bytes(tmp_path):
    for name in "ab":
        write_phantom(tmp_path / name, n_subjects=2, seed=9, with_patients=True, n_patients=10, progress=False)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) > 40
    for f in files:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f

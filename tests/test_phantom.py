"""The phantom: determinism, exact layout, published healthy ranges, calibration, factor effects, patients."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from gaitsae.channels import CHANNELS, METADATA_COLUMNS
from gaitsae.data import load_dataset
from gaitsae.data.calibration import BETWEEN_SHARE, HF_SHARE, PCA_RESIDUAL, TRIAL_CV
from gaitsae.data.phantom import TRUTH_FILE, write_phantom
from gaitsae.data.phantom.population import sample_population
from gaitsae.data.stats import between_share, dataset_stats, grf_parameters, trial_cv
from tests.csvedit import edit


def _digest(directory):
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def test_phantom__same_arguments_give_identical_bytes(tmp_path):
    write_phantom(tmp_path / "a", n_subjects=3, seed=7, progress=False)
    write_phantom(tmp_path / "b", n_subjects=3, seed=7, progress=False)
    write_phantom(tmp_path / "c", n_subjects=3, seed=8, progress=False)
    a, b, c = (_digest(tmp_path / x) for x in "abc")
    assert a == b
    assert len(a) == 2 * 2 * 5 + 5  # PRO+RAW × sides × channels + metadata, speed, truth, patterns, marker
    assert a["GRF_F_V_PRO_left.csv"] != c["GRF_F_V_PRO_left.csv"]


def test_phantom__streamed_in_blocks_gives_the_same_bytes(tmp_path, monkeypatch):
    """Curves and CSV rows are made block by block (bounded memory); the block size must not matter."""
    import gaitsae.data.phantom as phantom
    import gaitsae.data.phantom.curves as curves
    import gaitsae.data.phantom.writer as writer
    write_phantom(tmp_path / "whole", n_subjects=4, seed=2, with_patients=True, n_patients=5, progress=False)
    for module, name in ((curves, "CHUNK_ROWS"), (writer, "ROWS_PER_BLOCK"), (phantom, "ROWS_PER_BLOCK")):
        monkeypatch.setattr(module, name, 7)
    write_phantom(tmp_path / "blocks", n_subjects=4, seed=2, with_patients=True, n_patients=5, progress=False)
    whole, blocks = _digest(tmp_path / "whole"), _digest(tmp_path / "blocks")
    assert len(pd.read_csv(tmp_path / "whole" / "gaitrec" / "GRF_F_V_RAW_left.csv")) > 7  # several blocks
    assert whole == blocks


def test_phantom__exact_layout(tiny_phantom_dir):
    v = pd.read_csv(tiny_phantom_dir / "GRF_F_V_PRO_left.csv")
    assert list(v.columns[:4]) == ["DATASET_ID", "SUBJECT_ID", "SESSION_ID", "TRIAL_ID"]
    assert list(v.columns[4:]) == [f"F_V_PRO_{i}" for i in range(1, 102)]
    raw = (tiny_phantom_dir / "GRF_F_V_RAW_left.csv").read_bytes()
    assert b"\r\n" in raw and b",NaN" in raw  # CRLF, padded with NaN
    meta = pd.read_csv(tiny_phantom_dir / "GRF_metadata.csv")
    assert list(meta.columns) == ["DATASET_ID", "SUBJECT_ID", "SESSION_ID", *METADATA_COLUMNS]
    first = (tiny_phantom_dir / "GRF_metadata.csv").read_bytes().split(b"\r\n")[1].decode().split(",")
    assert first[10] == "NaN"  # SHOE_SIZE unknown, spelled as published
    assert first[8].count(".") == 1 and len(first[8].split(".")[1]) == 1  # BODY_WEIGHT like 740.1
    pd.to_datetime(meta.SESSION_DATE, format="%d.%m.%Y %H:%M:%S")  # raises if the format is off
    speed = pd.read_csv(tiny_phantom_dir / "GRF_walking_speed.csv")
    assert list(speed.columns) == ["DATASET_ID", "SUBJECT_ID", "SESSION_ID", "TRIAL_ID", "WALKING_SPEED"]
    assert "SYNTHETIC" in (tiny_phantom_dir / "PHANTOM.txt").read_text()


def test_phantom__gaitrec_layout_has_no_dataset_id_and_no_speed_file(tiny_patients_dir):
    g = tiny_patients_dir / "gaitrec"
    assert list(pd.read_csv(g / "GRF_F_V_PRO_left.csv").columns[:3]) == ["SUBJECT_ID", "SESSION_ID", "TRIAL_ID"]
    assert not (g / "GRF_walking_speed.csv").exists()
    meta = pd.read_csv(g / "GRF_metadata.csv")
    assert set(meta.CLASS_LABEL) <= {"HC", "H", "K", "A", "C"} and len(set(meta.CLASS_LABEL)) >= 3
    ill = meta.CLASS_LABEL != "HC"
    assert meta.AFFECTED_SIDE[ill].isin([0, 1, 2]).all() and meta.AFFECTED_SIDE[~ill].isna().all()
    assert (meta.TRAIN + meta.TEST == 1).all()


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    out = tmp_path_factory.mktemp("healthy")
    write_phantom(out, n_subjects=50, seed=3, progress=False)
    ds = load_dataset(out, cache=False)
    truth = pd.read_csv(out / TRUTH_FILE)
    return ds, truth


def _vgrf_landmarks(v):
    p1t = v[:, 10:50].argmax(1) + 10
    p2t = v[:, 50:90].argmax(1) + 50
    trough = np.array([row[a:b + 1].min() for row, a, b in zip(v, p1t, p2t)])
    return v[:, 10:50].max(1), p1t, v[:, 50:90].max(1), p2t, trough


def test_phantom__vertical_force_has_the_healthy_double_hump(healthy):
    ds, _ = healthy
    p1, p1t, p2, p2t, trough = _vgrf_landmarks(ds.curves[:, CHANNELS.index("F_V")])
    assert 1.05 <= np.median(p1) <= 1.2 and 1.05 <= np.median(p2) <= 1.2
    assert 20 <= np.median(p1t) <= 25 and 75 <= np.median(p2t) <= 80
    assert 0.65 <= np.median(trough) <= 0.8
    peak = np.maximum(p1, p2)
    assert abs(peak.mean() - 1.16) < 0.05 and 0.04 < peak.std() < 0.12  # 1.16 ± 0.10 BW
    # Most single stances fall in the published ranges too (tails are allowed).
    assert np.mean((p1 > 0.95) & (p1 < 1.3)) > 0.9


def test_phantom__shear_forces_and_centre_of_pressure(healthy):
    ds, _ = healthy
    ap = ds.curves[:, CHANNELS.index("F_AP")]
    assert -0.25 <= np.median(ap.min(1)) <= -0.15 and 15 <= np.median(ap.argmin(1)) <= 20
    assert 0.15 <= np.median(ap.max(1)) <= 0.25 and 80 <= np.median(ap.argmax(1)) <= 85
    ml = np.abs(ds.curves[:, CHANNELS.index("F_ML")]).max(1)
    assert 0.03 <= np.median(ml) <= 0.08
    cop_ap = ds.curves[:, CHANNELS.index("COP_AP")].astype(float)
    assert (np.diff(cop_ap, axis=1) > -1e-3).all()  # heel to toe (measurement noise aside)
    travel = cop_ap[:, -1] - cop_ap[:, 0]
    assert 0.2 <= np.median(travel) <= 0.3
    cop_ml = ds.curves[:, CHANNELS.index("COP_ML")]
    assert abs(np.median(cop_ml.mean(1))) < 0.002
    assert 0.005 <= np.median(cop_ml.max(1) - cop_ml.min(1)) <= 0.02


def test_phantom__speed_raises_peaks_and_deepens_the_trough(healthy):
    ds, truth = healthy
    speed = truth.walking_speed_m_per_s.to_numpy()  # truth rows follow the stance order
    assert (truth.SIDE.to_numpy() == ds.stances.side.to_numpy()).all()
    p1, _, p2, _, trough = _vgrf_landmarks(ds.curves[:, CHANNELS.index("F_V")])
    assert np.polyfit(speed, p1, 1)[0] > 0.1
    assert np.polyfit(speed, p2, 1)[0] > 0.05
    assert np.polyfit(speed, trough, 1)[0] < -0.1


def test_phantom__subjects_have_a_signature(healthy):
    """Curves of one subject are closer to each other than to other subjects' (nearest neighbour)."""
    ds, _ = healthy
    x = ds.curves[:, :3].reshape(len(ds), -1)
    x = x[ds.stances.side == "left"]
    subj = ds.stances.subject[ds.stances.side == "left"].to_numpy()
    d = ((x[:, None] - x[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    assert (subj[d.argmin(1)] == subj).mean() > 0.7


def test_phantom__affected_side_loads_and_pushes_off_less(tiny_patients_dir, tmp_path):
    write_phantom(tmp_path, n_subjects=10, seed=5, with_patients=True, n_patients=60, progress=False)
    ds = load_dataset(tmp_path / "gaitrec", cache=False)
    truth = pd.read_csv(tmp_path / "gaitrec" / TRUTH_FILE)
    v = ds.curves[:, CHANNELS.index("F_V")]
    ap = ds.curves[:, CHANNELS.index("F_AP")]
    affected = truth.affected.to_numpy() == 1
    control = truth.class_label.to_numpy() == "HC"
    assert affected.sum() > 50 and control.sum() > 10
    assert v[affected, 10:50].max(1).mean() < v[control, 10:50].max(1).mean()
    assert ap[affected].max(1).mean() < ap[control].max(1).mean()
    assert ds.stances.walking_speed_m_per_s.isna().all()  # GaitRec has no speed file
    assert truth.walking_speed_m_per_s[~control].mean() < truth.walking_speed_m_per_s[control].mean()


def test_population__marginals_match_the_published_gutenberg_numbers():
    pop = sample_population(np.random.default_rng(0), 350, patients=False)
    subjects = pop.sessions.drop_duplicates("SUBJECT_ID")
    assert abs(subjects.sex.mean() - 0.591) < 0.06
    assert abs(subjects.age_years.mean() - 24.3) < 1.5
    assert abs(subjects.height_m.mean() * 100 - 175.8) < 2.0
    assert abs(subjects.body_mass_kg.mean() - 70.7) < 3.0
    assert abs(len(pop.sessions) - 661) < 80
    assert abs(len(pop.trials) - 8819) < 1000
    assert abs(pop.trials.walking_speed_m_per_s.mean() - 1.48) < 0.05


def test_phantom__calibration_statistics_fall_in_the_documented_ranges(healthy):
    ds, truth = healthy
    stats = dataset_stats(ds)
    measured = {f"{ch} residual after {k}": (stats["pca_residual"][ch][k], t) for (ch, k), t in PCA_RESIDUAL.items()}
    measured.update({f"{ch} high-frequency share": (stats["hf_share"][ch], t) for ch, t in HF_SHARE.items()})
    for name, values in stats["parameters"].items():
        measured[f"{name} between-subject share"] = (values["between_share"], BETWEEN_SHARE[name])
        measured[f"{name} trial CV"] = (values["trial_cv"], TRIAL_CV[name])
    leg = (truth.SUBJECT_ID.astype(str) + truth.SIDE).to_numpy()
    visit = (truth.SESSION_ID.astype(str) + truth.SIDE).to_numpy()
    seconds = truth.stance_time_s.to_numpy()
    measured["stance time between-subject share"] = (between_share(seconds, leg), BETWEEN_SHARE["stance_time"])
    measured["stance time trial CV"] = (trial_cv(seconds, visit), TRIAL_CV["stance_time"])
    assert len(measured) == 4 + 1 + 2 * 6 + 2
    outside = {name: f"{v:.4g} not in [{t.low:.4g}, {t.high:.4g}]" for name, (v, t) in measured.items() if not t.holds(v)}
    assert not outside


def test_phantom__planted_factors_are_recoverable_from_the_curves(healthy):
    """Each subject factor moves its documented landmark, beyond speed and the other factors."""
    ds, truth = healthy
    p = grf_parameters(ds)
    factors = truth[["walking_speed_m_per_s", "sig_1", "sig_2", "sig_3", "age_years", "height_m"]].to_numpy()
    design = np.column_stack([np.ones(len(factors)), (factors - factors.mean(0)) / factors.std(0)])
    for landmark, factor, sign in (("fv_peak1", 1, 1), ("fv_peak2", 2, 1), ("fv_trough", 3, -1),
                                   ("fv_peak1", 0, 1), ("fv_trough", 0, -1), ("fap_propulsion", 2, 1)):
        coef, *_ = np.linalg.lstsq(design, p[landmark].to_numpy(), rcond=None)
        assert sign * coef[1 + factor] > 0.005, (landmark, factor)  # BW per sd of the factor
    # Asymmetry: a subject's right-minus-left first peak follows their planted asymmetry.
    side = ds.stances.side.to_numpy()
    diff = p.fv_peak1.to_numpy()[side == "right"] - p.fv_peak1.to_numpy()[side == "left"]
    assert np.corrcoef(diff, truth.asymmetry.to_numpy()[side == "right"])[0, 1] > 0.3


def test_phantom__copied_without_its_marker_file_is_still_synthetic(phantom_copy):
    """The mark travels inside the metadata: every session is dated in 1901."""
    (phantom_copy / "PHANTOM.txt").unlink()
    assert load_dataset(phantom_copy, cache=False).synthetic
    edit(phantom_copy / "GRF_metadata.csv", lambda lines: [lines[0], lines[1].replace(".1901 ", ".2014 ")] + lines[2:])
    assert not load_dataset(phantom_copy, cache=False).synthetic  # one real-looking date: not the mark

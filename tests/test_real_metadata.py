"""The reader parses the real published Gutenberg metadata and walking-speed tables."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from gaitsae.data import load_dataset
from gaitsae.data.phantom import write_phantom
from tests.conftest import SHARED_GUTENBERG


@pytest.fixture
def real_tables_with_phantom_signals(tmp_path):
    """The real metadata + walking speed, with phantom signal rows for exactly those trials."""
    if not (SHARED_GUTENBERG / "GRF_metadata.csv").is_file():
        pytest.skip(f"real Gutenberg tables not found at {SHARED_GUTENBERG}")
    import pandas as pd

    from gaitsae.channels import value_columns
    from gaitsae.data.phantom.writer import write_signal

    speed = pd.read_csv(SHARED_GUTENBERG / "GRF_walking_speed.csv")
    shutil.copy(SHARED_GUTENBERG / "GRF_metadata.csv", tmp_path / "GRF_metadata.csv")
    shutil.copy(SHARED_GUTENBERG / "GRF_walking_speed.csv", tmp_path / "GRF_walking_speed.csv")
    ids = speed[["DATASET_ID", "SUBJECT_ID", "SESSION_ID", "TRIAL_ID"]]
    curve = np.sin(np.linspace(0, np.pi, 101))[None].repeat(len(ids), 0)
    write_signal(tmp_path / "GRF_F_V_PRO_left.csv", ids, curve, "F_V", "PRO")
    return tmp_path, speed


def test_real_gutenberg_tables_parse(real_tables_with_phantom_signals):
    directory, speed = real_tables_with_phantom_signals
    ds = load_dataset(directory, sides=["left"], cache=False)
    s = ds.stances
    assert len(ds) == 8819
    assert s.session.nunique() == 661 and s.subject.nunique() == 350
    assert (s.dataset == "gutenberg").all() and set(s.dataset_id) == set(range(1, 11))
    assert s.walking_speed_m_per_s.notna().sum() == speed.WALKING_SPEED.notna().sum()
    assert set(s.sex.dropna()) == {"female", "male"}
    assert s.session_date.notna().all()
    assert 15 < s.age_years.mean() < 35 and s.age_years.min() >= 11
    assert 150 < s.height_cm.mean() < 190
    np.testing.assert_allclose((s.body_weight_n / s.body_mass_kg).median(), 9.81, rtol=0.01)
    assert not ds.synthetic
    assert ds.problems == ()

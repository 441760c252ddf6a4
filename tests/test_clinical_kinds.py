"""Clinical code knows the two kinds of feature (issue 28): the deviation index counts every
feature, the pattern behind a deviation is named by sparse features only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from gaitsae.cli import main
from gaitsae.clinical.explain import distinguishing_features, explaining_features


def test_distinguishing_features__a_scaffold_axis_never_names_the_pattern():
    rng = np.random.default_rng(1)
    rows = [{"subject": f"{c}{s}", "session": f"{c}{s}", "side": side, "class_label": c,
             "affected_side": None if c == "HC" else "left"}
            for c, n in (("HC", 30), ("K", 20)) for s in range(n) for side in ("left", "right")]
    sessions = pd.DataFrame(rows)
    x = rng.normal(size=(len(sessions), 6))
    k = sessions["class_label"].eq("K").to_numpy()
    x[k, 0] += 3.0  # scaffold axis 0: patients walk slower, on both sides
    x[k & sessions["side"].eq("left").to_numpy(), 4] += 1.5  # the sparse pattern, on the affected side
    healthy = sessions["class_label"].eq("HC").to_numpy()
    everything = distinguishing_features(sessions, x, healthy, ["K"], n_boot=10)
    assert everything.loc[everything["rank"] == 1, "feature"].item() == 0  # asked blindly, the axis wins
    explains = explaining_features(["scaffold", "scaffold", "sparse", "sparse", "sparse", "sparse"])
    sparse = distinguishing_features(sessions, x, healthy, ["K"], n_boot=10, explains=explains)
    assert sparse.loc[sparse["rank"] == 1, "feature"].item() == 4
    assert set(sparse["feature"]) <= {2, 3, 4, 5} and len(sparse) == 4


def test_classify_and_deviations__a_scaffold_run(scaffold_run, tiny_patients_dir, tmp_path):
    out = tmp_path / "cls"
    assert main(["classify", str(scaffold_run), "--data", str(tiny_patients_dir), "--out", str(out),
                 "--train-set", "full", "--bootstrap", "10", "--quiet"]) == 0
    features = pd.read_csv(out / "features.csv")
    assert len(features) and (features["feature"] >= 2).all()  # features 0, 1 are the scaffold axes
    dev = tmp_path / "dev.parquet"
    assert main(["deviations", str(scaffold_run), "--data", str(tiny_patients_dir), "--out", str(dev)]) == 0
    stances = pq.read_table(tmp_path / "dev_stances.parquet").to_pandas()
    assert {"z_0", "z_1", "z_9"} <= set(stances.columns)  # the index is computed over both kinds

"""Exports (issue 30): `encode` writes CSV or Parquet by the extension of --out; Parquet keeps
each feature's name (analysis.naming) in its column's metadata, the one name every page shows."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow.parquet as pq

from gaitsae.cli import main
from gaitsae.explorer.store import open_store


def test_encode__parquet_names_every_latent_column_and_csv_by_the_extension(explorer_runs, tiny_patients_dir,
                                                                            tmp_path, capsys):
    run = explorer_runs["topk"]
    out = tmp_path / "codes.parquet"
    assert main(["encode", str(run), "--data", str(tiny_patients_dir), "--out", str(out)]) == 0
    schema = pq.read_schema(out)
    names = {f.name: f.metadata[b"name"].decode() for f in schema if f.name.startswith("latent_")}
    assert len(names) == 16
    mark = json.loads(schema.metadata[b"gaitsae"])
    assert mark["feature_names"] == names and mark["run"] == str(run.resolve())
    store = open_store(run, tiny_patients_dir, progress=False)  # the explorer names the features alike
    assert [names[f"latent_{j}"] for j in range(16)] == store.features["name"].tolist()
    csv = tmp_path / "codes.csv"
    assert main(["encode", str(run), "--data", str(tiny_patients_dir), "--out", str(csv)]) == 0
    table, parquet = pd.read_csv(csv), pd.read_parquet(out)
    assert len(table) == len(parquet) and list(table.columns) == list(parquet.columns)
    assert (table["latent_3"] - parquet["latent_3"]).abs().max() < 1e-4
    capsys.readouterr()
    assert main(["encode", str(run), "--data", str(tiny_patients_dir), "--out", str(csv)]) == 2  # a CSV is not marked
    assert "exists and is not a gaitsae encode output" in capsys.readouterr().err
    assert main(["encode", str(run), "--data", str(tiny_patients_dir), "--out", str(tmp_path / "codes.xlsx")]) == 2
    assert "must end in .csv or .parquet" in capsys.readouterr().err and not (tmp_path / "codes.xlsx").exists()

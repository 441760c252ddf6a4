"""fsio.write_table: one way to write a table, its format chosen by the extension."""

import pandas as pd
import pytest

from gaitsae.errors import OutputError
from gaitsae.fsio import write_table


@pytest.mark.parametrize("name", ["t.csv", "t.parquet", "T.CSV"])
def test_write_table__round_trips_by_extension(tmp_path, name):
    table = pd.DataFrame({"stance": [1, 2], "latent_0": [0.5, float("nan")]})
    write_table(tmp_path / name, table)
    read = pd.read_parquet if name.endswith("parquet") else pd.read_csv
    pd.testing.assert_frame_equal(read(tmp_path / name), table)
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary left


def test_write_table__refuses_unknown_extension_and_writes_nothing(tmp_path):
    with pytest.raises(OutputError, match=r"\.csv or \.parquet"):
        write_table(tmp_path / "t.xlsx", pd.DataFrame({"a": [1]}))
    assert list(tmp_path.iterdir()) == []

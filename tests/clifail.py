"""Running the CLI in-process on input that must be refused: exit 2, one line, no traceback."""

from __future__ import annotations

from gaitsae.cli import main


def fails(argv, capsys) -> str:
    """The CLI exits 2 with exactly one line on stderr, which is returned."""
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err

"""Editing the phantom's CRLF CSV files line by line, to plant bad input in tests."""

from __future__ import annotations


def read_lines(path) -> list[str]:
    # surrogateescape: a file the fuzzer already filled with random bytes can be corrupted again
    return path.read_bytes().decode("utf-8", errors="surrogateescape").split("\r\n")


def write_lines(path, lines) -> None:
    path.write_bytes("\r\n".join(lines).encode("utf-8", errors="surrogateescape"))


def edit(path, fn) -> None:
    """Replace the file's lines by fn(lines)."""
    write_lines(path, fn(read_lines(path)))


def with_cell(lines, row, col, value) -> list[str]:
    """The lines with cell (row, col) set to value (row 0 is the header)."""
    cells = lines[row].split(",")
    cells[col] = value
    return lines[:row] + [",".join(cells)] + lines[row + 1:]

"""CSV files of your own: the delimiter detected (or given), a header found, text labels turned into
classes, and a column that is not numeric named, with the row and the value that is not a number."""

from __future__ import annotations

import csv
import os

import numpy as np

from ..errors import DataError

DELIMITERS = ",;\t|"
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None if cell.strip() else float("nan")  # an empty cell is a missing value


def read_rows(
    path: str, delimiter: str | None = None, text: str | None = None
) -> tuple[list[str] | None, list[list[str]]]:
    """(header or None, rows of cells). The delimiter is ``delimiter`` or found by ``csv.Sniffer``
    among , ; tab and |; a first row whose input cells are not numbers is the header. Where ``text`` is
    given (an upload), it is the file's content and ``path`` only names it in messages."""
    if text is None:
        if not os.path.isfile(path):
            raise DataError(f"data file {path!r} does not exist")
        try:
            with open(path, encoding="utf-8", newline="") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: not a readable text file ({exc})") from None
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:65536], delimiters=DELIMITERS).delimiter
        except csv.Error:
            delimiter = ","  # one column, or nothing to tell them apart by
    rows = [row for row in csv.reader(text.splitlines(), delimiter=delimiter) if any(cell.strip() for cell in row)]
    if not rows:
        raise DataError(f"{path}: the file holds no rows")
    first = rows[0]
    header = None
    # a header: some input column holds text in the first row and a number in the second
    second = rows[1] if len(rows) > 1 else []
    if any(_number(a) is None and _number(b) is not None for a, b in zip(first[:-1], second[:-1])):
        header, rows = [cell.strip() for cell in first], rows[1:]
    if header is not None and rows and len(header) != len(rows[0]):
        raise DataError(
            f"{path}: the header has {len(header)} columns but the rows have {len(rows[0])}; "
            f"is the delimiter {delimiter!r} right? (--delimiter)"
        )
    widths = {len(row) for row in rows}
    if len(widths) > 1:
        width = len(rows[0])
        bad = next(i for i, row in enumerate(rows) if len(row) != width)
        raise DataError(
            f"{path}: rows have different numbers of columns (row {bad + 1 + (header is not None)} has "
            f"{len(rows[bad])}, the first has {width}); is the delimiter {delimiter!r} right? (--delimiter)"
        )
    return header, rows


def load_csv(path: str, delimiter: str | None = None, text: str | None = None):
    """A CSV file of examples: every column but the last is an input, the last is the target.

    Returns (X, y, task, class_names). A target of text labels, or of a few non-negative integers,
    makes a classification task (text labels become classes in sorted order, their names kept);
    anything else a regression. An input column that is not numeric is an error naming it. ``text``:
    the content itself (an upload), ``path`` then only names it.
    """
    header, rows = read_rows(path, delimiter, text)
    if len(rows[0]) < 2:
        raise DataError(
            f"{path}: expected rows of at least two columns (inputs..., target), got {len(rows[0])} column; "
            "is the delimiter right? (--delimiter)"
        )
    columns = list(zip(*rows))
    X = _numeric(path, header, columns[:-1], "; only the last column, the target, may hold text labels")
    target = [cell.strip() for cell in columns[-1]]
    numbers = [_number(cell) for cell in target]
    if None in numbers:  # text labels: the classes, in sorted order
        class_names = sorted(set(target))
        index = {name: i for i, name in enumerate(class_names)}
        return X.astype(np.float32), np.array([index[t] for t in target], dtype=np.int64), "classification", class_names
    y = np.array(numbers, dtype=np.float64)
    _check_float32_range(path, header, y[:, None], first=len(columns) - 1)
    if (
        np.all(np.isfinite(y))
        and np.all(y == np.round(y))
        and y.min() >= 0
        and len(np.unique(y)) <= max(2, len(y) // 5)
    ):
        return X.astype(np.float32), y.astype(np.int64), "classification", []
    return X.astype(np.float32), y.astype(np.float32).reshape(-1, 1), "regression", []


def load_inputs(path: str, features: int, delimiter: str | None = None) -> np.ndarray:
    """The rows of a CSV file of inputs only (for predictions): ``features`` numeric columns."""
    header, rows = read_rows(path, delimiter)
    if len(rows[0]) != features:
        raise DataError(f"{path}: expected {features} input columns (the model's inputs), got {len(rows[0])}")
    return _numeric(path, header, list(zip(*rows)))


def _numeric(path: str, header, columns, hint: str = "") -> np.ndarray:
    """Columns of cells as a (rows, columns) float array, or a DataError naming the first one that is not numeric."""
    values = []
    for index, column in enumerate(columns):
        numbers = [_number(cell) for cell in column]
        if None in numbers:
            row = numbers.index(None)
            name = _column_name(header, index)
            line = row + 1 + (header is not None)
            raise DataError(f"{path}: {name} is not numeric: line {line} holds {excerpt(column[row])}{hint}")
        values.append(numbers)
    array = np.array(values, dtype=np.float64).T
    _check_float32_range(path, header, array)
    return array


def _check_float32_range(path: str, header, array: np.ndarray, first: int = 0) -> None:
    """The data is kept as float32: a finite value beyond its range would silently become infinity, so it is
    named instead (``array``'s column 0 is the file's column ``first``)."""
    too_large = np.isfinite(array) & (np.abs(array) > FLOAT32_MAX)
    if too_large.any():
        row, index = np.argwhere(too_large)[0]
        raise DataError(
            f"{path}: {_column_name(header, first + index)} line {row + 1 + (header is not None)} holds "
            f"{array[row, index]:g}, beyond float32's range (±{FLOAT32_MAX:.3g}); rescale that column"
        )


def _column_name(header, index: int) -> str:
    return f"{excerpt(header[index])} (column {index + 1})" if header else f"column {index + 1}"


def excerpt(cell: str, limit: int = 40) -> str:
    """A cell as a short, escaped quotation for an error message (never a whole line of someone's file)."""
    text = cell if len(cell) <= limit else cell[:limit] + "…"
    return repr(text)

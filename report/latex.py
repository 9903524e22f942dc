"""The report's tables as LaTeX, ready for ``\\input{}``: booktabs rules (``\\usepackage{booktabs}``), the
cells as the page shows them (measured ± seed SD beside reported), special characters escaped."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$",
            "≥": r"$\geq$", "≤": r"$\leq$", "×": r"$\times$", "²": r"$^2$"}


def escape(text: str) -> str:
    """``text`` with LaTeX's special characters (and the page's ±, ≥, ≤, ×) written as LaTeX."""
    return "".join(_SPECIAL.get(char, char) for char in text)


def _is_number_column(frame: pd.DataFrame, column) -> bool:
    return pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column])


def table_latex(frame: pd.DataFrame, format_value: Callable[[object, str], str]) -> str:
    """A ``tabular`` of ``frame``: text columns left-aligned, numeric ones right-aligned, a header row
    between \\toprule and \\midrule, \\bottomrule at the end. ``format_value(value, column)`` is the page's
    cell formatter (plain text)."""
    spec = "".join("r" if _is_number_column(frame, c) else "l" for c in frame.columns)
    lines = [f"\\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(escape(str(c)) for c in frame.columns) + r" \\", r"\midrule"]
    for _, row in frame.iterrows():
        cells = [escape(format_value(value, str(column))) for column, value in row.items()]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"

"""The writers: one markup Document (markup.py) as plain text, Markdown, LaTeX or HTML."""

from __future__ import annotations

import html

from .markup import Document


def render_document(doc: Document, fmt: str) -> str:
    """A document in one of the formats that write blocks (all but json)."""
    writers = {"text": _text, "markdown": _markdown, "latex": _latex, "html": _html}
    if fmt not in writers:
        raise ValueError(f"explain: format must be one of {', '.join(writers)}, got {fmt!r}")
    return writers[fmt](doc)


def _text(doc: Document) -> str:
    lines = []
    for block in doc.blocks:
        if block[0] == "h":
            title = block[2]
            lines += ["", title, ("=" if block[1] == 1 else "-" if block[1] == 2 else "·") * len(title)]
        elif block[0] == "p":
            lines.append(block[1])
        elif block[0] == "eq":
            lines.append("  " + block[1].u)
        else:
            header, rows = block[1], block[2]
            widths = [max(len(str(r[c])) for r in [header] + rows) for c in range(len(header))]
            lines += ["  " + "  ".join(str(v).rjust(w) for v, w in zip(r, widths)) for r in [header] + rows]
    return "\n".join(lines).lstrip("\n") + "\n"


def _markdown(doc: Document) -> str:
    lines = []
    for block in doc.blocks:
        if block[0] == "h":
            lines += ["", "#" * block[1] + " " + block[2], ""]
        elif block[0] == "p":
            lines += [block[1], ""]
        elif block[0] == "eq":
            lines.append("    " + block[1].u)
        else:
            header, rows = block[1], block[2]
            lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
                "| " + " | ".join(r) + " |" for r in rows
            ]
    return "\n".join(lines).lstrip("\n") + "\n"


def _latex(doc: Document) -> str:
    sections = {1: "section*", 2: "subsection*", 3: "subsubsection*"}
    lines = [
        r"\documentclass{article}",
        r"\usepackage{amsmath}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\begin{document}",
    ]
    for block in doc.blocks:
        if block[0] == "h":
            lines.append(f"\\{sections[block[1]]}{{{_latex_text(block[2])}}}")
        elif block[0] == "p":
            lines.append(_latex_text(block[1]) + "\n")
        elif block[0] == "eq":
            lines.append(r"\[ " + block[1].t + r" \]")
        else:
            header, rows = block[1], block[2]
            lines += [r"\begin{tabular}{" + "r" * len(header) + "}", " & ".join(header) + r" \\ \hline"]
            lines += [" & ".join(_latex_text(c) for c in r) + r" \\" for r in rows] + [r"\end{tabular}"]
    lines.append(r"\end{document}")
    return "\n".join(lines) + "\n"


# Text outside the equations: its mathematical characters as LaTeX math, its underscores escaped
_LATEX_TEXT = {
    "_": r"\_",
    "η": r"$\eta$",
    "∂": r"$\partial$",
    "·": r"$\cdot$",
    "←": r"$\leftarrow$",
    "−": "-",
    "Σ": r"$\Sigma$",
    "½": r"$\frac{1}{2}$",
    "²": r"$^2$",
    "ᵀ": r"$^T$",
    "⊙": r"$\odot$",
    "′": r"$'$",
}


def _latex_text(text: str) -> str:
    return "".join(_LATEX_TEXT.get(c, c) for c in text)


def _html_blocks(doc: Document, shift: int, equation) -> list:
    """The blocks as HTML elements: headings moved ``shift`` levels down, equations written by ``equation``."""
    body = []
    for block in doc.blocks:
        if block[0] == "h":
            level = min(block[1] + shift, 6)
            body.append(f"<h{level}>{html.escape(block[2])}</h{level}>")
        elif block[0] == "p":
            body.append(f"<p>{html.escape(block[1])}</p>")
        elif block[0] == "eq":
            body.append(equation(block[1]))
        else:
            header, rows = block[1], block[2]
            body.append(
                "<table><tr>"
                + "".join(f"<th>{html.escape(h)}</th>" for h in header)
                + "</tr>"
                + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
                + "</table>"
            )
    return body


def _html(doc: Document) -> str:
    body = _html_blocks(doc, 0, lambda m: f'<div class="eq">{html.escape(m.u)}</div>')
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        ".eq{font-family:monospace;margin:.2em 0 .2em 1.5em;white-space:pre}td,th{padding:0 1em;text-align:right}"
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>chainrule explain</title>'
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def html_fragment(doc: Document) -> str:
    """The document as HTML without a page around it, each equation as LaTeX display math (\\[ … \\]):
    the playground typesets it with KaTeX and Jupyter with its MathJax, so both show the same mathematics."""
    body = _html_blocks(doc, 2, lambda m: f'<div class="eq" title="{html.escape(m.u)}">\\[{html.escape(m.t)}\\]</div>')
    return '<div class="chainrule-explain">' + "\n".join(body) + "</div>"

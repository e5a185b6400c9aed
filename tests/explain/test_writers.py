"""The writers (explain/writers.py): one document, five ways to read it."""

import pytest

from chainrule.explain.markup import Document, M, eq
from chainrule.explain.writers import html_fragment, render_document


def _document() -> Document:
    doc = Document(digits=4)
    doc.heading("Backward through w_1", level=2)
    doc.para("η · ∂E/∂w: the step <a & b>")
    doc.equation(eq(M("y", "y"), M("x²", "x^2")))
    doc.table(["name", "value"], [["w_1", "0.5"]])
    return doc


def test_each_format_writes_every_block():
    doc = _document()
    text = render_document(doc, "text")
    assert text.splitlines()[:2] == ["Backward through w_1", "-" * len("Backward through w_1")]
    assert "  y = x²" in text and "   w_1    0.5" in text
    markdown = render_document(doc, "markdown")
    assert "## Backward through w_1" in markdown and "| name | value |" in markdown and "    y = x²" in markdown
    html = render_document(doc, "html")
    assert "<h2>Backward through w_1</h2>" in html and "&lt;a &amp; b&gt;" in html and "<td>w_1</td>" in html


def test_latex_escapes_text_and_keeps_the_mathematics():
    latex = render_document(_document(), "latex")
    assert r"\subsection*{Backward through w\_1}" in latex
    assert r"$\eta$ $\cdot$ $\partial$E/$\partial$w" in latex  # the text's symbols as math, underscores escaped
    assert r"\[ y = x^2 \]" in latex and latex.startswith(r"\documentclass{article}")


def test_the_html_fragment_carries_latex_for_katex_and_mathjax():
    fragment = html_fragment(_document())
    assert fragment.startswith('<div class="chainrule-explain">') and "<h4>Backward through w_1</h4>" in fragment
    assert r'<div class="eq" title="y = x²">\[y = x^2\]</div>' in fragment


def test_an_unknown_format_is_refused_with_the_list():
    with pytest.raises(ValueError, match="format must be one of text, markdown, latex, html, got 'pdf'"):
        render_document(_document(), "pdf")

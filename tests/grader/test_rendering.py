"""Cells rendered for the grading view: nbconvert's Markdown and highlighting, with student
HTML cut to an allow-list."""

from __future__ import annotations

from nbcampus.grader.rendering import code_html, markdown_html


def test_markdown_is_rendered_and_student_html_is_defused() -> None:
    html = markdown_html(
        "Explain **why**.\n\n<script>alert('x')</script>\n\n"
        '<img src="x" onerror="alert(1)">\n\n[link](javascript:alert(1)) `code`\n\n# Part A'
    )
    assert "<h1>Part A</h1>" in html  # no anchor to an id that is not there
    assert "<strong>why</strong>" in html and "<code>code</code>" in html
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "onerror" not in html and "[image: x]" in html  # a file image shows its name
    assert 'href="javascript' not in html


def test_code_is_highlighted_and_escaped() -> None:
    html = code_html("def f(x):\n    return '<b>'  # note", "python")
    assert 'class="k"' in html and "&lt;b&gt;" in html and "<b>" not in html
    assert 'class="c1"' in code_html("int x; // note", "c")


def test_an_inline_image_stays_and_a_file_image_shows_its_name() -> None:
    html = markdown_html("![plot](data:image/png;base64,iVBORw0KGgo=)\n\n![](jupyter.png)")
    assert '<img src="data:image/png;base64,iVBORw0KGgo=" alt="plot">' in html
    assert "[image: jupyter.png]" in html


def test_an_html_output_keeps_its_table_and_loses_its_script() -> None:
    from nbcampus.grader.review import _output

    table = '<table class="dataframe"><tr><th>a</th></tr><tr><td>1</td></tr></table>'
    out = _output(
        {
            "output_type": "execute_result",
            "data": {"text/html": table + "<script>alert(1)</script>", "text/plain": "a 1"},
        }
    )
    assert out is not None and out.kind == "html"
    assert '<table class="dataframe">' in out.data and "<td>1</td>" in out.data
    assert "script" not in out.data

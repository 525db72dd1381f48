"""Similarity of students' answers to one assignment, with the template code left out.

What is compared: every nbgrader `solution` cell (code or Markdown) of each student's newest
submission, matched to the same cell (notebook, grade_id) of the other student. Lines the
student kept from the released version of that cell (the function's signature and docstring,
"YOUR CODE HERE") are left out line by line, after whitespace is collapsed, so that two
students who both wrote nothing, or only kept what everyone was given, are never similar.

How it is compared, and why this way:

- Each answer becomes a token stream. Python code goes through Python's own `tokenize`:
  comments are dropped, string literals become one STR token, and each identifier that is not
  a keyword, a builtin or an attribute becomes V1, V2... in the order of first use. Renaming
  variables, re-indenting, reflowing whitespace or rewriting comments changes nothing; the
  structure (keywords, operators, calls to builtins, indentation levels) is what is compared.
  C cells get a small regular-expression tokenizer with the same normalisation; Markdown
  answers are compared as lower-case words. Code that does not tokenize (a syntax error)
  falls back to the regular-expression tokenizer.
- Two streams are aligned with the standard library's `difflib.SequenceMatcher` (no junk
  heuristic), and only matching runs of at least MIN_RUN tokens count, as in the k-gram
  fingerprints of MOSS-style detectors: single shared tokens ("(", "V1", a newline) match in
  any two programs and are noise. A pair's score is 2 x matched tokens / all tokens of both,
  summed over the cells either student answered; a cell only one of them answered adds its
  tokens with no match. Students with fewer than MIN_TOKENS answer tokens in all are left
  out: very short answers (`return sum(squares(n))`) are alike by necessity.

This is a screening aid for a person, who judges each listed pair side by side; a score alone
proves nothing. The work grows with the square of the number of students (a class of 100 is
under 5,000 pairs of short cells).
"""

from __future__ import annotations

import builtins
import difflib
import io
import keyword
import logging
import re
import tokenize
from dataclasses import dataclass, field
from typing import Any

import nbformat
from nbgrader.utils import is_solution

log = logging.getLogger(__name__)
MIN_RUN = 3  # tokens; shorter matching runs are coincidence
MIN_TOKENS = 12  # answer tokens a student needs before they are paired at all
DEFAULT_THRESHOLD = 0.7
BUILTINS = frozenset(dir(builtins))
C_KEYWORDS = frozenset(
    """auto break case char const continue default do double else enum extern float for goto
    if inline int long register restrict return short signed sizeof static struct switch
    typedef union unsigned void volatile while bool true false NULL printf scanf malloc free
    include define""".split()
)
C_TOKEN = re.compile(
    r"""//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|[A-Za-z_]\w*|\d[\w.]*|\S""",
    re.S,
)
WORD = re.compile(r"\w+")
SPACE = re.compile(r"\s+")
SKIPPED = frozenset(
    {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
    | {getattr(tokenize, n) for n in ("FSTRING_MIDDLE", "FSTRING_END") if hasattr(tokenize, n)}
)
STRINGS = frozenset(
    {tokenize.STRING} | {getattr(tokenize, n) for n in ("FSTRING_START",) if hasattr(tokenize, n)}
)
LAYOUT = {tokenize.NEWLINE: "\n", tokenize.INDENT: "{", tokenize.DEDENT: "}"}

Key = tuple[str, str]  # (notebook, grade_id)


@dataclass
class Answer:
    """One student's answer cell: its lines, which of them are template, its tokens."""

    notebook: str
    cell: str
    cell_type: str
    lines: list[str]
    template: set[int] = field(default_factory=set)  # indexes of lines kept from the release
    tokens: list[str] = field(default_factory=list)
    token_lines: list[int] = field(default_factory=list)  # the line of each token


@dataclass
class CellMatch:
    notebook: str
    cell: str
    score: float
    tokens: tuple[int, int]  # answer tokens of each student
    lines_a: set[int] = field(default_factory=set)  # lines holding matched tokens
    lines_b: set[int] = field(default_factory=set)


@dataclass
class Pair:
    a: str
    b: str
    score: float
    cells: list[CellMatch]

    def as_json(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "score": round(self.score, 3),
            "cells": [
                {
                    "notebook": c.notebook,
                    "cell": c.cell,
                    "score": round(c.score, 3),
                    "tokens": list(c.tokens),
                }
                for c in self.cells
            ],
        }


def _norm(line: str) -> str:
    return SPACE.sub(" ", line).strip()


def _language(nb: Any) -> str:
    meta = nb.get("metadata") or {}
    spec = (meta.get("kernelspec") or {}).get("language")
    return str(spec or (meta.get("language_info") or {}).get("name") or "python").lower()


def _python_tokens(source: str) -> list[tuple[str, int]]:
    """(token, 0-based line) with identifiers renamed in order of first use."""
    names: dict[str, str] = {}
    out: list[tuple[str, int]] = []
    prev = ""
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        kind, text, line = tok.type, tok.string, tok.start[0] - 1
        if kind in SKIPPED:
            continue
        if kind == tokenize.NAME:
            if not (keyword.iskeyword(text) or text in BUILTINS or prev == "."):
                text = names.setdefault(text, f"V{len(names) + 1}")
        elif kind in STRINGS:
            text = "STR"
        elif kind in LAYOUT:
            text = LAYOUT[kind]
        out.append((text, line))
        prev = tok.string
    return out


def _regex_tokens(source: str, keywords: frozenset[str]) -> list[tuple[str, int]]:
    names: dict[str, str] = {}
    out: list[tuple[str, int]] = []
    prev = ""
    for m in C_TOKEN.finditer(source):
        text, line = m.group(), source.count("\n", 0, m.start())
        if text.startswith(("//", "/*")):
            continue
        if text[0] in "\"'":
            text = "STR"
        elif (text[0].isalpha() or text[0] == "_") and not (text in keywords or prev in (".", ">")):
            text = names.setdefault(text, f"V{len(names) + 1}")
        out.append((text, line))
        prev = m.group()
    return out


def _tokens(source: str, cell_type: str, language: str) -> list[tuple[str, int]]:
    if cell_type == "markdown":
        words = WORD.finditer(source)
        return [(m.group().lower(), source.count("\n", 0, m.start())) for m in words]
    if language == "python":
        try:
            return _python_tokens(source)
        except (tokenize.TokenError, SyntaxError):  # IndentationError is a SyntaxError
            pass
    return _regex_tokens(source, C_KEYWORDS if language == "c" else frozenset(keyword.kwlist))


def answers(nb: Any, release: Any | None, notebook: str) -> dict[Key, Answer]:
    """The solution cells of a submitted notebook, with the release's lines marked template."""
    given: dict[str, set[str]] = {}
    for cell in release.cells if release is not None else []:
        grade_id = (cell.metadata.get("nbgrader") or {}).get("grade_id")
        if grade_id:
            given[str(grade_id)] = {_norm(x) for x in str(cell.source).splitlines() if _norm(x)}
    language = _language(nb)
    out: dict[Key, Answer] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader") or {}
        if not isinstance(meta, dict) or not meta.get("grade_id") or not is_solution(cell):
            continue
        grade_id = str(meta["grade_id"])
        source = str(cell.source or "")
        lines = source.splitlines()
        template = given.get(grade_id, set())
        ans = Answer(notebook, grade_id, str(cell.cell_type), lines)
        ans.template = {i for i, x in enumerate(lines) if _norm(x) and _norm(x) in template}
        for text, line in _tokens(source, ans.cell_type, language):
            if line not in ans.template:
                ans.tokens.append(text)
                ans.token_lines.append(line)
        out[(notebook, grade_id)] = ans
    return out


def notebook_answers(files: dict[str, bytes], releases: dict[str, Any]) -> dict[Key, Answer]:
    """All answers of one submission: {name.ipynb: bytes} against {name: release notebook}."""
    out: dict[Key, Answer] = {}
    for name, data in sorted(files.items()):
        if not name.endswith(".ipynb") or "/" in name:
            continue
        stem = name[: -len(".ipynb")]
        try:
            nb = nbformat.reads(data.decode("utf-8"), as_version=4)
        except Exception as err:  # an unreadable notebook has no answers to compare
            log.info("similarity: %s left out: %s", name, err)
            continue
        out.update(answers(nb, releases.get(stem), stem))
    return out


def _significant(a: list[str], b: list[str]) -> list[difflib.Match]:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return [m for m in matcher.get_matching_blocks() if m.size >= MIN_RUN]


def compare(a: dict[Key, Answer], b: dict[Key, Answer]) -> tuple[float, list[CellMatch]]:
    """A pair's score (0..1) and its per-cell matches, in the first student's cell order."""
    matched = total = 0
    cells = []
    for key in list(a) + [k for k in b if k not in a]:
        ta = a[key].tokens if key in a else []
        tb = b[key].tokens if key in b else []
        if not ta and not tb:
            continue
        blocks = _significant(ta, tb) if ta and tb else []
        m = sum(x.size for x in blocks)
        matched += m
        total += len(ta) + len(tb)
        cell = CellMatch(key[0], key[1], 2 * m / (len(ta) + len(tb)), (len(ta), len(tb)))
        for x in blocks:
            cell.lines_a.update(a[key].token_lines[x.a : x.a + x.size])
            cell.lines_b.update(b[key].token_lines[x.b : x.b + x.size])
        cells.append(cell)
    return (2 * matched / total if total else 0.0), cells


def report(students: dict[str, dict[Key, Answer]], threshold: float) -> list[Pair]:
    """Every pair of students scoring at least `threshold`, the most similar first."""
    names = sorted(
        s for s, ans in students.items() if sum(len(x.tokens) for x in ans.values()) >= MIN_TOKENS
    )
    pairs = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            score, cells = compare(students[a], students[b])
            if score >= threshold:
                pairs.append(Pair(a, b, score, cells))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return pairs

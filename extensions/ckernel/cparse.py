"""Splitting a C cell into top-level items: directives, declarations, function
definitions and statements.

A notebook cell mixes what a C file holds (includes, types, functions, globals) with
what a function body holds (statements).  The kernel keeps the first kind at file
scope and moves statements into a function that runs when the cell runs, so this
module needs to know, for every top-level item, which kind it is and which names it
defines.  It is a tokenizer plus a small recursive reader of C's statement grammar,
not a full parser: the compiler still judges everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KEYWORDS = frozenset(
    """auto break case char const continue default do double else enum extern float for
    goto if inline int long register restrict return short signed sizeof static struct
    switch typedef union unsigned void volatile while _Alignas _Alignof _Atomic _Bool
    _Complex _Generic _Imaginary _Noreturn _Static_assert _Thread_local __attribute__
    __inline __inline__ __restrict __restrict__ __volatile__ __const __extension__ asm
    __asm__ typeof __typeof__ bool""".split()
)
TYPE_KEYWORDS = frozenset(
    "char short int long float double void signed unsigned _Bool _Complex bool".split()
)
STORAGE = frozenset("static extern auto register _Thread_local typedef".split())
QUALIFIERS = frozenset(
    "const volatile restrict _Atomic inline _Noreturn __inline __inline__ __restrict "
    "__restrict__ __volatile__ __const __extension__".split()
)
STATEMENT_KEYWORDS = frozenset(
    "if for while do switch return break continue goto case default else".split()
)
# Type names the standard headers define, so `size_t n = 3;` reads as a declaration.
STANDARD_TYPES = frozenset(
    """size_t ssize_t ptrdiff_t wchar_t wint_t FILE fpos_t va_list div_t ldiv_t lldiv_t
    time_t clock_t off_t pid_t uid_t gid_t mode_t intptr_t uintptr_t intmax_t uintmax_t
    int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t jmp_buf sig_atomic_t
    max_align_t pthread_t pthread_mutex_t DIR""".split()
)
_PP_CONDITIONAL_OPEN = ("if", "ifdef", "ifndef")
_MAGIC = re.compile(r"^[ \t]*//%(\w+)[ \t]*(.*?)[ \t]*$", re.MULTILINE)


@dataclass
class Token:
    kind: str  # "id", "num", "str", "chr", "punct", "pp"
    text: str
    start: int
    end: int
    line: int


@dataclass
class Declarator:
    name: str
    text: str  # the declarator without its initializer, e.g. "*names[]"
    is_function: bool
    empty_bound: bool  # an array whose first bound comes from the initializer
    init: str | None  # initializer text, None when there is none
    init_tokens: list[Token] = field(default_factory=list)


@dataclass
class Item:
    """One top-level piece of a cell."""

    kind: str  # directive | conditional | function | declaration | statement
    start: int
    end: int
    line: int
    text: str
    tokens: list[Token] = field(default_factory=list)
    directive: str = ""  # include, define, undef, pragma, ... for directives
    name: str = ""  # function name; macro name for define/undef
    returns_void: bool = False
    body_close: int = -1  # offset of the closing brace of a function body
    specifiers: list[Token] = field(default_factory=list)
    declarators: list[Declarator] = field(default_factory=list)
    is_typedef: bool = False
    is_extern: bool = False
    tag: str = ""  # "struct point" when the item defines a tagged struct/union/enum
    has_body: bool = False  # the specifiers include a struct/union/enum body
    enum_constants: list[str] = field(default_factory=list)


class Incomplete(Exception):
    """The code ends inside a comment, string or character constant."""


def magics(code: str) -> list[tuple[str, str]]:
    """`//%name value` lines, e.g. ("cflags", "-lm")."""
    return [(m.group(1).lower(), m.group(2)) for m in _MAGIC.finditer(code)]


def tokenize(code: str) -> list[Token]:
    """Tokens of C source; comments and whitespace are dropped."""
    tokens: list[Token] = []
    i, n, line = 0, len(code), 1
    at_line_start = True
    while i < n:
        c = code[i]
        if c == "\n":
            line += 1
            i += 1
            at_line_start = True
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if code.startswith("//", i):
            j = code.find("\n", i)
            i = n if j < 0 else j
            continue
        if code.startswith("/*", i):
            j = code.find("*/", i + 2)
            if j < 0:
                raise Incomplete("unterminated comment")
            line += code.count("\n", i, j)
            i = j + 2
            continue
        start, start_line = i, line
        if c == "#" and at_line_start:
            j = i
            while True:  # a directive runs to the end of the line, with continuations
                k = code.find("\n", j)
                if k < 0:
                    j = n
                    break
                cut = code.find("/*", j, k)
                if cut >= 0 and code.find("*/", cut, k) < 0:
                    end = code.find("*/", cut)
                    if end < 0:
                        raise Incomplete("unterminated comment")
                    j = end + 2
                    continue
                if code[j:k].rstrip("\r").endswith("\\"):
                    j = k + 1
                    continue
                j = k
                break
            text = code[i:j]
            line += text.count("\n")
            tokens.append(Token("pp", text, i, j, start_line))
            i = j
            continue
        at_line_start = False
        if c.isalpha() or c == "_":
            j = i + 1
            while j < n and (code[j].isalnum() or code[j] == "_"):
                j += 1
            # string/char prefixes: L"..", u8"..", U'..'
            if j < n and code[j] in "\"'" and code[i:j] in ("L", "u", "U", "u8"):
                i = j
                c = code[j]
            else:
                tokens.append(Token("id", code[i:j], i, j, start_line))
                i = j
                continue
        if c in "\"'":
            j = i + 1
            while j < n and code[j] != c:
                if code[j] == "\\":
                    j += 1
                elif code[j] == "\n":
                    raise Incomplete("unterminated string")
                j += 1
            if j >= n:
                raise Incomplete("unterminated string")
            tokens.append(
                Token("str" if c == '"' else "chr", code[start : j + 1], start, j + 1, line)
            )
            i = j + 1
            continue
        if c.isdigit() or (c == "." and i + 1 < n and code[i + 1].isdigit()):
            j = i + 1
            while j < n and (
                code[j].isalnum() or code[j] in "._" or (code[j] in "+-" and code[j - 1] in "eEpP")
            ):
                j += 1
            tokens.append(Token("num", code[i:j], i, j, line))
            i = j
            continue
        for op in (
            "...",
            "<<=",
            ">>=",
            "->",
            "++",
            "--",
            "<<",
            ">>",
            "<=",
            ">=",
            "==",
            "!=",
            "&&",
            "||",
            "*=",
            "/=",
            "%=",
            "+=",
            "-=",
            "&=",
            "^=",
            "|=",
            "##",
        ):
            if code.startswith(op, i):
                tokens.append(Token("punct", op, i, i + len(op), line))
                i += len(op)
                break
        else:
            tokens.append(Token("punct", c, i, i + 1, line))
            i += 1
    return tokens


def bracket_depth(code: str) -> int:
    """How many brackets are open at the end of `code` (raises Incomplete)."""
    depth = 0
    for t in tokenize(code):
        if t.kind == "punct":
            if t.text in "([{":
                depth += 1
            elif t.text in ")]}":
                depth -= 1
    return depth


class _Reader:
    def __init__(
        self, code: str, tokens: list[Token], type_names: set[str], variables: set[str]
    ) -> None:
        self.code = code
        self.t = tokens
        self.type_names = set(type_names) | STANDARD_TYPES
        self.variables = variables

    # -- helpers
    def text(self, i: int) -> str:
        return self.t[i].text if 0 <= i < len(self.t) else ""

    def match(self, i: int) -> int:
        """Index of the bracket closing the one at i (or the last token)."""
        depth = 0
        for j in range(i, len(self.t)):
            tk = self.t[j]
            if tk.kind != "punct":
                continue
            if tk.text in "([{":
                depth += 1
            elif tk.text in ")]}":
                depth -= 1
                if depth == 0:
                    return j
        return len(self.t) - 1

    def to_semicolon(self, i: int) -> int:
        j = i
        while j < len(self.t):
            tx = self.t[j]
            if tx.kind == "punct" and tx.text in "([{":
                j = self.match(j) + 1
                continue
            if tx.kind == "punct" and tx.text == ";":
                return j
            if tx.kind == "pp":
                return j - 1
            j += 1
        return len(self.t) - 1

    def statement_end(self, i: int) -> int:
        """Index of the last token of the statement starting at i."""
        if i >= len(self.t):
            return len(self.t) - 1
        w = self.text(i)
        if w == "{":
            return self.match(i)
        if w in ("if", "while", "for", "switch"):
            j = i + 1
            if self.text(j) == "(":
                j = self.match(j) + 1
            end = self.statement_end(j)
            if w == "if" and self.text(end + 1) == "else":
                end = self.statement_end(end + 2)
            return end
        if w == "do":
            end = self.statement_end(i + 1)
            return self.to_semicolon(end + 1)
        if w in ("case", "default"):
            j = i
            while j < len(self.t) and self.text(j) != ":":
                j += 1
            return self.statement_end(j + 1)
        if self.t[i].kind == "id" and self.text(i + 1) == ":" and w not in KEYWORDS:
            return self.statement_end(i + 2)  # a label
        return self.to_semicolon(i)

    def starts_declaration(self, i: int) -> bool:
        w, tk = self.text(i), self.t[i]
        if w in TYPE_KEYWORDS or w in STORAGE or w in QUALIFIERS:
            return True
        if w in (
            "struct",
            "union",
            "enum",
            "_Static_assert",
            "__attribute__",
            "typeof",
            "__typeof__",
            "_Alignas",
        ):
            return True
        if tk.kind != "id" or w in KEYWORDS:
            return False
        nxt = self.t[i + 1] if i + 1 < len(self.t) else None
        if nxt is None:
            return False
        if w in self.type_names:
            return nxt.kind == "id" or nxt.text in ("*", "(")
        if nxt.kind == "id" and nxt.text not in KEYWORDS:
            return True  # two identifiers in a row never start an expression
        if nxt.text == "*" and w not in self.variables:
            # `T *p;` reads as a declaration: a product thrown away is no statement.
            j = i + 1
            while self.text(j) == "*":
                j += 1
            return self.t[j].kind == "id" if j < len(self.t) else False
        return False

    # -- items
    def items(self) -> list[Item]:
        out: list[Item] = []
        i = 0
        while i < len(self.t):
            tk = self.t[i]
            if tk.kind == "pp":
                name = _directive_name(tk.text)
                if name in _PP_CONDITIONAL_OPEN:
                    end = self._conditional_end(i)
                    out.append(self._item("conditional", i, end))
                    i = end + 1
                    continue
                item = self._item("directive", i, i)
                item.directive = name
                if name in ("define", "undef"):
                    m = re.match(r"\s*#\s*\w+\s+(\w+)", tk.text)
                    item.name = m.group(1) if m else ""
                out.append(item)
                i += 1
                continue
            if tk.text == ";":
                i += 1
                continue
            if tk.text in STATEMENT_KEYWORDS or tk.text == "{":
                end = self.statement_end(i)
                out.append(self._item("statement", i, end))
                i = end + 1
                continue
            end, kind = self._scan_item(i)
            item = self._item(kind, i, end)
            if kind == "function":
                self._describe_function(item)
            elif kind == "declaration":
                self._describe_declaration(item)
                if item.is_typedef:
                    self.type_names.update(d.name for d in item.declarators)
                else:
                    self.variables.update(d.name for d in item.declarators if not d.is_function)
            out.append(item)
            i = end + 1
        return out

    def _conditional_end(self, i: int) -> int:
        depth = 0
        for j in range(i, len(self.t)):
            if self.t[j].kind != "pp":
                continue
            name = _directive_name(self.t[j].text)
            if name in _PP_CONDITIONAL_OPEN:
                depth += 1
            elif name == "endif":
                depth -= 1
                if depth == 0:
                    return j
        return len(self.t) - 1

    def _scan_item(self, i: int) -> tuple[int, str]:
        declaration = self.starts_declaration(i)
        j = i
        while j < len(self.t):
            tk = self.t[j]
            if tk.kind == "pp":
                return j - 1, "declaration" if declaration else "statement"
            if tk.kind == "punct" and tk.text in "([":
                j = self.match(j) + 1
                continue
            if tk.kind == "punct" and tk.text == "{":
                close = self.match(j)
                pre = [t.text for t in self.t[i:j]]
                if (
                    pre
                    and pre[-1] == ")"
                    and "=" not in pre
                    and (declaration or self.t[i].kind == "id")
                ):
                    return close, "function"
                if (set(pre) & {"struct", "union", "enum", "="}) and declaration:
                    j = close + 1
                    continue
                return close, "declaration" if declaration else "statement"
            if tk.kind == "punct" and tk.text == ";":
                return j, "declaration" if declaration else "statement"
            j += 1
        return len(self.t) - 1, "declaration" if declaration else "statement"

    def _item(self, kind: str, first: int, last: int) -> Item:
        toks = self.t[first : last + 1]
        start, end = toks[0].start, toks[-1].end
        return Item(kind, start, end, toks[0].line, self.code[start:end], toks)

    def _describe_function(self, item: Item) -> None:
        toks = item.tokens
        brace = next(k for k, t in enumerate(toks) if t.text == "{")
        head = toks[:brace]
        k = 0
        while k < len(head):
            if head[k].text in ("__attribute__", "__declspec") and k + 1 < len(head):
                k = _skip_parens(head, k + 1)
                continue
            if (
                head[k].kind == "id"
                and head[k].text not in KEYWORDS
                and k + 1 < len(head)
                and head[k + 1].text == "("
            ):
                item.name = head[k].text
                before = [t.text for t in head[:k] if t.text not in STORAGE | QUALIFIERS]
                item.returns_void = before == ["void"]
                break
            k += 1
        item.body_close = toks[-1].start
        item.specifiers = head[:k]

    def _describe_declaration(self, item: Item) -> None:
        toks = [t for t in item.tokens]
        if toks and toks[-1].text == ";":
            toks = toks[:-1]
        if toks and toks[0].text == "_Static_assert":
            return
        k, seen_type = 0, False
        while k < len(toks):
            w = toks[k].text
            if w == "typedef":
                item.is_typedef = True
            elif w == "extern":
                item.is_extern = True
            if w in STORAGE or w in QUALIFIERS:
                k += 1
                continue
            if w in TYPE_KEYWORDS:
                seen_type = True
                k += 1
                continue
            if w in ("__attribute__", "_Alignas", "typeof", "__typeof__"):
                k = _skip_parens(toks, k + 1)
                seen_type = seen_type or w in ("typeof", "__typeof__")
                continue
            if w in ("struct", "union", "enum"):
                seen_type = True
                k += 1
                if k < len(toks) and toks[k].kind == "id":
                    item.tag = f"{w} {toks[k].text}"
                    k += 1
                if k < len(toks) and toks[k].text == "{":
                    close = _match_in(toks, k)
                    item.has_body = True
                    if w == "enum":
                        item.enum_constants = _enum_constants(toks[k + 1 : close])
                    k = close + 1
                continue
            if toks[k].kind == "id" and not seen_type:
                seen_type = True
                k += 1
                continue
            break
        item.specifiers = toks[:k]
        for part in _split_commas(toks[k:]):
            d = _declarator(part, self.code)
            if d is not None:
                item.declarators.append(d)


def _directive_name(text: str) -> str:
    m = re.match(r"\s*#\s*(\w*)", text)
    return m.group(1) if m else ""


def _skip_parens(toks: list[Token], k: int) -> int:
    if k < len(toks) and toks[k].text == "(":
        return _match_in(toks, k) + 1
    return k


def _match_in(toks: list[Token], k: int) -> int:
    depth = 0
    for j in range(k, len(toks)):
        if toks[j].kind == "punct" and toks[j].text in "([{":
            depth += 1
        elif toks[j].kind == "punct" and toks[j].text in ")]}":
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


def _split_commas(toks: list[Token]) -> list[list[Token]]:
    parts: list[list[Token]] = [[]]
    depth = 0
    for t in toks:
        if t.kind == "punct" and t.text in "([{":
            depth += 1
        elif t.kind == "punct" and t.text in ")]}":
            depth -= 1
        if depth == 0 and t.text == ",":
            parts.append([])
        else:
            parts[-1].append(t)
    return [p for p in parts if p]


def _enum_constants(toks: list[Token]) -> list[str]:
    return [p[0].text for p in _split_commas(toks) if p[0].kind == "id"]


def _declarator(part: list[Token], code: str) -> Declarator | None:
    depth, eq = 0, -1
    for k, t in enumerate(part):
        if t.kind == "punct" and t.text in "([{":
            depth += 1
        elif t.kind == "punct" and t.text in ")]}":
            depth -= 1
        elif depth == 0 and t.text == "=":
            eq = k
            break
    decl = part if eq < 0 else part[:eq]
    init = None if eq < 0 else part[eq + 1 :]
    k = 0
    name_at = -1
    while k < len(decl):
        if decl[k].text in ("__attribute__", "__asm__", "asm"):
            k = _skip_parens(decl, k + 1)
            continue
        if decl[k].kind == "id" and decl[k].text not in KEYWORDS:
            name_at = k
            break
        k += 1
    if name_at < 0:
        return None
    is_function = name_at + 1 < len(decl) and decl[name_at + 1].text == "("
    empty_bound = False
    if name_at + 2 < len(decl) and decl[name_at + 1].text == "[":
        empty_bound = decl[name_at + 2].text == "]"
    text = " ".join(t.text for t in decl)
    init_text = code[init[0].start : init[-1].end] if init else None
    return Declarator(decl[name_at].text, text, is_function, empty_bound, init_text, init or [])


def split_items(
    code: str, type_names: set[str] | None = None, variables: set[str] | None = None
) -> list[Item]:
    """Top-level items of a cell, in source order (raises Incomplete)."""
    tokens = tokenize(code)
    return _Reader(code, tokens, set(type_names or ()), set(variables or ())).items()


def identifiers(code: str) -> set[str]:
    """Every identifier in `code`, tolerating unfinished code."""
    return {m.group(0) for m in re.finditer(r"[A-Za-z_]\w*", code)} - KEYWORDS

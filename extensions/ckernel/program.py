"""The notebook's C program as it grows cell by cell.

Every cell becomes one translation unit: a prelude that declares what earlier cells
defined (includes, macros, types, function prototypes, `extern` declarations of
globals), then the cell's own file-scope items, then a function `__nbc_run` holding
the cell's top-level statements.  After the runner has loaded a unit, `commit`
records what it defined so the next prelude can declare it.

Rewrites, each keeping the cell's line numbers:
- `static`/`inline` at file scope are dropped: the notebook is one program, and a
  later cell must be able to call a helper an earlier cell declared `static`.
- a global whose initializer is not a constant (`int n = square(3);`) is defined
  without it and assigned when the cell runs, as a Python user would expect.
- redefining an existing global with the same type re-initialises its storage rather
  than making a second variable, so functions compiled earlier see the new value.
- functions that return a value get a call at their closing brace that reports
  "reached the end without returning a value" (this also makes an empty exercise
  stub fail deterministically instead of returning garbage).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from . import cparse
from .cparse import Item
from .headers import Block

PRELUDE = (
    "void *__nbc_copy(void *, const void *, unsigned long);\n"
    # Not declared noreturn, so the compiler still warns "might return no value".
    "void __nbc_fell_off(const char *);\n"
)
_TYPE_KEY = re.compile(r"^(type|tag|macro|enumc):")
# Put before the closing brace of a non-void function: reports a function that ends without
# returning a value. Left out of the source gcc checks, which then sees the cell as written
# (the leading ';' would otherwise end an unfinished last statement, as in `return x * x }`).
FELL_OFF = ";__nbc_fell_off(__func__);"


@dataclass
class Entry:
    """One declaration the prelude carries for later cells."""

    keys: tuple[str, ...]
    text: str
    origin: str
    line: int

    @property
    def role(self) -> str:
        """ "system" for `#include <...>`, "feature" for a feature-test macro such as
        _GNU_SOURCE (both go into the preprocessed header block), else ""."""
        return _role(self.keys[0], self.text)


@dataclass
class Unit:
    """A cell turned into a translation unit, ready for the runner."""

    id: int
    label: str
    code: str
    source: str = ""  # for tcc: follows `block`, the preprocessed system headers
    block: Block | None = None
    gcc_source: str = ""  # for gcc: the plain #include lines
    header_lines: list[str] = field(default_factory=list)  # what `block` was made of
    exclude: list[str] = field(default_factory=list)
    main_kind: str = "-"  # i: int main, v: void main, -: no main
    has_statements: bool = False
    entries: list[Entry] = field(default_factory=list)
    removed_keys: set[str] = field(default_factory=set)
    reinit: set[str] = field(default_factory=set)  # globals re-initialised in place
    empty_bounds: set[str] = field(default_factory=set)
    type_names: set[str] = field(default_factory=set)
    macros: set[str] = field(default_factory=set)
    enum_constants: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    variables: set[str] = field(default_factory=set)

    def declared_functions(self, program: Program) -> list[str]:
        """Functions this unit can see a prototype of but does not define."""
        mine = {e.keys[0][3:] for e in self.entries if e.keys[0].startswith("fn:")}
        return sorted((set(program.functions) | mine) - self.functions - {"main"})

    @property
    def check_source(self) -> str:
        """The unit as gcc checks it: the student's functions exactly as written."""
        return self.gcc_source.replace(FELL_OFF, "")

    @property
    def runs_code(self) -> bool:
        return self.has_statements or self.main_kind != "-"


@dataclass
class Loaded:
    """What the runner needs to load a unit again after a restart."""

    id: int
    mode: str  # "src" or "obj"
    block: str  # key of the header block the source follows ("" for none)
    options: str
    libraries: str
    exclude: str
    text: str
    declared: str = ""


class Program:
    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.functions: dict[str, str] = {}  # name -> prototype
        self.variables: dict[str, str] = {}  # name -> extern declaration
        self.sizes: dict[str, int] = {}  # name -> sizeof, as the runner measured it
        self.type_names: set[str] = set()
        self.tags: set[str] = set()
        self.macros: set[str] = set()
        self.enum_constants: set[str] = set()
        self.history: list[Loaded] = []
        self._next_id = 1

    # ---------------------------------------------------------------- build
    def build(
        self,
        code: str,
        label: str,
        *,
        reinit: bool = True,
        headers: Callable[[list[str]], Block | None] | None = None,
    ) -> Unit:
        """Turns a cell into a unit (raises cparse.Incomplete).

        `headers` turns feature macros and system #include lines into preprocessed
        text (headers.HeaderCache); without it the units keep their #include lines.
        """
        unit = Unit(self._next_id, label, code)
        self._next_id += 1
        items = cparse.split_items(code, self.type_names, set(self.variables))
        line_starts = _line_starts(code)
        shadow: set[str] = set()
        early: list[tuple[str, str]] = []  # (role, text): types and macros, placed
        # where the definitions they replace were
        late: list[str] = []  # definitions: after the whole prelude
        actions: list[str] = []  # statements and initialisations, in source order
        macros = set(self.macros)
        known_vars = set(self.variables)
        for item in items:
            at = _line_directive(item.line, label)
            pad = " " * (item.start - line_starts[item.line - 1])
            if item.kind == "directive":
                self._directive(unit, item, shadow, macros)
                role = _role("macro:" if item.directive == "define" else item.directive, item.text)
                early.append((role, at + pad + item.text))
            elif item.kind == "conditional":
                late.append(at + pad + item.text)
            elif item.kind == "statement":
                actions.append(at + pad + item.text)
            elif item.kind == "function":
                late.append(at + pad + self._function(unit, item, shadow, code))
            else:
                text, acts, is_type = self._declaration(
                    unit, item, shadow, code, macros, known_vars, reinit
                )
                if is_type:
                    early.append(("", at + pad + text))
                else:
                    late.append(at + pad + text)
                for act in acts:
                    actions.append(at + pad + act)
        unit.has_statements = bool(actions)  # statements, or initialisations to run
        unit.exclude = sorted(unit.functions | (unit.variables - unit.reinit))
        unit.gcc_source = self._assemble(unit, shadow, early, late, actions, None)
        unit.source = unit.gcc_source
        if headers is not None:
            kept = [e for e in self.entries if not (set(e.keys) & shadow)]
            lines = [e.text for e in kept if e.role == "feature"]
            lines += [text.split("\n", 1)[1] for role, text in early if role == "feature"]
            lines += [e.text for e in kept if e.role == "system"]
            lines += [text.split("\n", 1)[1] for role, text in early if role == "system"]
            lines = list(dict.fromkeys(line.strip() for line in lines))
            block = headers(lines) if lines else None
            if block is not None:
                unit.block = block
                unit.header_lines = lines
                unit.source = self._assemble(unit, shadow, early, late, actions, block)
        return unit

    def _directive(self, unit: Unit, item: Item, shadow: set[str], macros: set[str]) -> None:
        if item.directive == "include":
            key = "include:" + " ".join(item.text.split()[1:])
            unit.entries.append(Entry((key,), item.text, unit.label, item.line))
        elif item.directive == "define" and item.name:
            key = "macro:" + item.name
            shadow.add(key)
            macros.add(item.name)
            unit.macros.add(item.name)
            unit.entries.append(Entry((key,), item.text, unit.label, item.line))
        elif item.directive == "undef" and item.name:
            shadow.add("macro:" + item.name)
            unit.removed_keys.add("macro:" + item.name)

    def _function(self, unit: Unit, item: Item, shadow: set[str], code: str) -> str:
        text = _strip_specifiers(item, item.specifiers)
        if item.name and item.name != "main" and not item.returns_void:
            cut = item.body_close - item.start
            text = text[:cut] + FELL_OFF + text[cut:]
        if item.name == "main":
            unit.main_kind = "v" if item.returns_void else "i"
            return text
        if item.name:
            head = []
            for t in item.tokens:
                if t.text == "{":
                    break
                if t.text not in ("static", "inline", "__inline", "__inline__"):
                    head.append(t.text)
            proto = " ".join(head) + ";"
            unit.functions.add(item.name)
            shadow.update({"fn:" + item.name, "var:" + item.name})
            unit.entries.append(Entry(("fn:" + item.name,), proto, unit.label, item.line))
        return text

    def _declaration(
        self,
        unit: Unit,
        item: Item,
        shadow: set[str],
        code: str,
        macros: set[str],
        known_vars: set[str],
        reinit_ok: bool,
    ) -> tuple[str, list[str], bool]:
        """Returns the unit text, the run-time actions and whether it is type-like."""
        if item.is_typedef:
            keys = tuple("type:" + d.name for d in item.declarators)
            enum_keys = tuple("enumc:" + c for c in item.enum_constants)
            unit.type_names.update(d.name for d in item.declarators)
            unit.enum_constants.update(item.enum_constants)
            if item.has_body and item.tag:
                # `typedef struct p {...} p_t;` is kept as two entries, so a later
                # cell may redefine the struct without repeating the typedef.
                body = code[item.start : _body_end(item)]
                body = re.sub(r"^(\s*)typedef\b", r"\1", body) + ";"
                tag_keys = ("tag:" + item.tag,) + enum_keys
                unit.entries.append(Entry(tag_keys, body, unit.label, item.line))
                names = ", ".join(d.text for d in item.declarators)
                alias = f"typedef {item.tag} {names};"
                unit.entries.append(Entry(keys, alias, unit.label, item.line))
                shadow.update(keys + tag_keys)
            else:
                shadow.update(keys + enum_keys)
                unit.entries.append(Entry(keys + enum_keys, item.text, unit.label, item.line))
            return item.text, [], True
        type_keys: tuple[str, ...] = ()
        if item.has_body:
            type_keys = tuple(["tag:" + item.tag] if item.tag else [])
            type_keys += tuple("enumc:" + c for c in item.enum_constants)
            unit.enum_constants.update(item.enum_constants)
            if type_keys:
                shadow.update(type_keys)
        if not item.declarators:
            if type_keys:
                unit.entries.append(Entry(type_keys, item.text, unit.label, item.line))
            return item.text, [], bool(type_keys)
        if type_keys:
            # `struct p {...} origin;`: the type goes to the prelude on its own.
            body_end = _body_end(item)
            type_text = code[item.start : body_end] + ";"
            unit.entries.append(Entry(type_keys, type_text, unit.label, item.line))
        spec = _extern_specifiers(item, code)
        text = _strip_specifiers(item, item.specifiers)
        offset = item.start
        removals: list[tuple[int, int]] = []  # initializer spans to drop (unit-relative)
        renames: list[str] = []
        actions: list[str] = []
        is_const = any(t.text == "const" for t in item.specifiers)
        for d in item.declarators:
            if d.is_function:
                key = "fn:" + d.name
                shadow.add(key)
                unit.entries.append(Entry((key,), f"{spec} {d.text};", unit.label, item.line))
                continue
            decl = f"extern {spec} {d.text};"
            if item.is_extern:
                if d.name not in self.variables:
                    unit.entries.append(Entry(("var:" + d.name,), decl, unit.label, item.line))
                known_vars.add(d.name)
                continue
            unit.variables.add(d.name)
            known_vars.add(d.name)
            same = reinit_ok and self.variables.get(d.name) == decl and not d.empty_bound
            split = (
                d.init is not None
                and not is_const
                and not d.empty_bound
                and _non_constant(d.init_tokens, macros, known_vars - {d.name})
            )
            if same:
                unit.reinit.add(d.name)
                renames.append(d.name)
            else:
                shadow.add("var:" + d.name)
                shadow.add("fn:" + d.name)
            if d.empty_bound:
                unit.empty_bounds.add(d.name)
            unit.entries.append(Entry(("var:" + d.name,), decl, unit.label, item.line))
            if split:
                first, last = d.init_tokens[0], d.init_tokens[-1]
                eq = code.rindex("=", item.start, first.start)
                removals.append((eq - offset, last.end - offset))
                init = code[first.start : last.end]
                if init.lstrip().startswith("{"):
                    actions.append(
                        f"__nbc_copy(&{d.name}, &(__typeof__({d.name})){init}, sizeof({d.name}));"
                    )
                else:
                    actions.append(f"{d.name} = {init};")
            elif same:
                actions.append(
                    f"__nbc_copy(&{d.name}, &__nbc_init_{d.name}, sizeof(__nbc_init_{d.name}));"
                )
        for start, end in sorted(removals, reverse=True):
            text = text[:start] + _blank(text[start:end]) + text[end:]
        if renames:
            before = "".join(f"#define {n} __nbc_init_{n}\n" for n in renames)
            after = "".join(f"\n#undef {n}" for n in renames)
            text = before + _line_directive(item.line, unit.label) + text + after
        return text, actions, False

    def _assemble(
        self,
        unit: Unit,
        shadow: set[str],
        early: list[tuple[str, str]],
        late: list[str],
        actions: list[str],
        block: Block | None,
    ) -> str:
        kept = [e for e in self.entries if not (set(e.keys) & shadow)]
        if block is not None:  # the block replaces system includes and feature macros
            kept = [e for e in kept if not e.role]
            early = [(r, t.split("\n", 1)[0] if r else t) for r, t in early]
        first_type_shadow = len(kept)
        for index, e in enumerate(self.entries):
            if any(_TYPE_KEY.match(k) for k in set(e.keys) & shadow):
                first_type_shadow = sum(1 for x in self.entries[:index] if x in kept)
                break
        parts = [PRELUDE]  # the runner puts the block, if any, in front
        for e in kept[:first_type_shadow]:
            parts.append(_line_directive(e.line, e.origin) + e.text)
        parts.extend(text for _, text in early)
        for e in kept[first_type_shadow:]:
            parts.append(_line_directive(e.line, e.origin) + e.text)
        parts.extend(late)
        if actions or unit.variables:
            parts.append('#line 1 "<generated>"')
        if actions:
            parts.append("void __nbc_run(void) {")
            parts.extend(actions)
            parts.append('#line 1 "<generated>"')
            parts.append("}")
        for name in sorted(unit.variables):
            target = f"__nbc_init_{name}" if name in unit.reinit else name
            parts.append(f"const unsigned long __nbc_len_size_{name} = sizeof({target});")
            if name in unit.empty_bounds:
                parts.append(
                    f"const unsigned long __nbc_len_count_{name} = "
                    f"sizeof({target}) / sizeof(({target})[0]);"
                )
        return "\n".join(parts) + "\n"

    # --------------------------------------------------------------- commit
    def reinit_conflicts(self, unit: Unit, lens: dict[str, int]) -> set[str]:
        """Globals whose re-initialisation would not fit the existing storage."""
        return {
            name
            for name in unit.reinit
            if name not in self.sizes or lens.get("size_" + name) != self.sizes[name]
        }

    def commit(self, unit: Unit, loaded: Loaded, lens: dict[str, int]) -> None:
        """Records what a loaded unit defined."""
        for key in unit.removed_keys:
            self.entries = [e for e in self.entries if key not in e.keys]
            if key.startswith("macro:"):
                self.macros.discard(key[6:])
        for entry in unit.entries:
            if entry.keys[0].startswith("var:"):
                name = entry.keys[0][4:]
                if "count_" + name in lens:
                    entry = Entry(
                        entry.keys,
                        re.sub(r"\[\s*\]", f"[{lens['count_' + name]}]", entry.text, count=1),
                        entry.origin,
                        entry.line,
                    )
                if name in unit.variables:
                    self.variables[name] = entry.text
                    self.functions.pop(name, None)
                    if "size_" + name in lens:
                        self.sizes[name] = lens["size_" + name]
            elif entry.keys[0].startswith("fn:"):
                name = entry.keys[0][3:]
                self.functions[name] = entry.text
                if name in unit.functions:
                    self.variables.pop(name, None)
            self._replace(entry)
        self.type_names |= unit.type_names
        self.macros |= unit.macros
        self.enum_constants |= unit.enum_constants
        self.history.append(loaded)

    def _replace(self, entry: Entry) -> None:
        keys = set(entry.keys)
        if entry.keys[0].startswith("include:"):
            if any(e.keys == entry.keys for e in self.entries):
                return
        hits = [i for i, e in enumerate(self.entries) if keys & set(e.keys)]
        if not hits:
            self.entries.append(entry)
            return
        self.entries[hits[0]] = entry
        for i in reversed(hits[1:]):
            del self.entries[i]

    def names(self) -> set[str]:
        """Everything a later cell can refer to, for completion."""
        return (
            set(self.functions)
            | set(self.variables)
            | self.type_names
            | self.macros
            | self.enum_constants
        )

    def declaration_of(self, name: str) -> str | None:
        return self.functions.get(name) or self.variables.get(name)


# ------------------------------------------------------------------- helpers


def _role(key: str, text: str) -> str:
    if key.startswith("include") and re.match(r"\s*#\s*include\s*<", text):
        return "system"
    if key.startswith("macro:") and re.match(r"\s*#\s*define\s+_[A-Z][A-Z0-9_]*_SOURCE\b", text):
        return "feature"
    return ""


def _line_starts(code: str) -> list[int]:
    starts = [0]
    for m in re.finditer("\n", code):
        starts.append(m.end())
    return starts


def _line_directive(line: int, label: str) -> str:
    return f'#line {line} "{label}"\n'


def _blank(text: str) -> str:
    """Spaces for `text`, keeping its newlines (line numbers stay right)."""
    return re.sub(r"[^\n]", " ", text)


def _strip_specifiers(item: Item, specifiers: list[cparse.Token]) -> str:
    text = item.text
    for t in specifiers:
        if t.text in ("static", "inline", "__inline", "__inline__"):
            s, e = t.start - item.start, t.end - item.start
            text = text[:s] + " " * (e - s) + text[e:]
    return text


def _extern_specifiers(item: Item, code: str) -> str:
    """The specifiers of a declaration as an `extern` declaration needs them."""
    words: list[str] = []
    toks = item.specifiers
    k = 0
    while k < len(toks):
        t = toks[k]
        if t.text in cparse.STORAGE or t.text in ("inline", "__inline", "__inline__"):
            k += 1
            continue
        if t.text == "{":
            close = _match(toks, k)
            if not item.tag:
                words.append(code[t.start : toks[close].end])
            k = close + 1
            continue
        words.append(t.text)
        k += 1
    return " ".join(words)


def _match(toks: list[cparse.Token], k: int) -> int:
    depth = 0
    for j in range(k, len(toks)):
        if toks[j].text in "([{":
            depth += 1
        elif toks[j].text in ")]}":
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


def _body_end(item: Item) -> int:
    toks = item.specifiers
    for k, t in enumerate(toks):
        if t.text == "{":
            return toks[_match(toks, k)].end
    return item.end


def _non_constant(tokens: list[cparse.Token], macros: set[str], variables: set[str]) -> bool:
    """Whether an initializer may not be a compile-time constant (a call, or the
    value of another global). Splitting a constant one is harmless, so err on that side."""
    for k, t in enumerate(tokens):
        if t.kind != "id" or t.text in cparse.KEYWORDS:
            continue
        nxt = tokens[k + 1].text if k + 1 < len(tokens) else ""
        prev = tokens[k - 1].text if k > 0 else ""
        if nxt == "(" and t.text not in macros:
            return True
        if t.text in variables and prev != "&":
            return True
    return False

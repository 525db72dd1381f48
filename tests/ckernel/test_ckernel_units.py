"""The C kernel's pure parts: cell splitting, unit building, flags, diagnostics, output."""

from __future__ import annotations

import pytest

from nbcampus.ckernel import completion, cparse, toolchain
from nbcampus.ckernel.headers import Block
from nbcampus.ckernel.program import Loaded, Program
from nbcampus.ckernel.streams import OutputSink


def kinds(code: str) -> list[tuple[str, str]]:
    return [(i.kind, i.text.split("\n")[0]) for i in cparse.split_items(code)]


def test_split_tells_definitions_from_statements() -> None:
    code = (
        "#include <stdio.h>\n"
        "typedef struct { int x; } box;\n"
        "box b = {1};\n"
        "int add(int a, int b) { return a + b; }\n"
        'printf("%d", add(1, 2));\n'
        "for (int i = 0; i < 3; i++) { b.x += i; }\n"
        "if (b.x) b.x = 0; else { b.x = 1; }\n"
        "do { b.x--; } while (b.x > 0);\n"
        "size_t n = 3;\n"
        "b.x = add(b.x, 1);\n"
    )
    assert [k for k, _ in kinds(code)] == [
        "directive",
        "declaration",
        "declaration",
        "function",
        "statement",
        "statement",
        "statement",
        "statement",
        "declaration",
        "statement",
    ]


def test_declarators_are_described() -> None:
    [item] = cparse.split_items("static int *p = 0, arr[] = {1, 2}, (*fp)(int);")
    names = [(d.name, d.is_function, d.empty_bound, d.init) for d in item.declarators]
    assert names == [
        ("p", False, False, "0"),
        ("arr", False, True, "{1, 2}"),
        ("fp", False, False, None),
    ]
    [fn] = cparse.split_items("int (*pick(int which))(int) { return 0; }")
    assert fn.kind == "function" and fn.name == "pick" and not fn.returns_void


def test_unfinished_code_is_incomplete() -> None:
    with pytest.raises(cparse.Incomplete):
        cparse.tokenize('printf("open')
    assert completion.is_complete("int f() {\n if (x) {")["indent"] == "        "


def test_magics_are_read_from_comment_lines() -> None:
    assert cparse.magics("//%cflags -lm -O2\nint x;\n  //%timeout 3\n") == [
        ("cflags", "-lm -O2"),
        ("timeout", "3"),
    ]


def test_unit_moves_statements_into_the_run_function_keeping_lines() -> None:
    program = Program()
    unit = program.build("int x = 1;\nx++;\nint twice(int v) { return 2 * v; }\n", "In[1]")
    source = unit.source
    assert '#line 2 "In[1]"\nx++;' in source
    assert source.index("void __nbc_run(void)") > source.index("int twice")
    assert "__nbc_fell_off(__func__)" in source  # a function returning a value
    assert unit.exclude == ["twice", "x"]


def test_later_units_declare_what_earlier_ones_defined() -> None:
    program = Program()
    first = program.build("static int hidden = 2;\nint seven(void) { return 7; }\n", "In[1]")
    program.commit(first, Loaded(first.id, "src", "", "", "", "", first.source), {"size_hidden": 4})
    second = program.build("int y = seven() + hidden;\n", "In[2]")
    assert "extern int hidden;" in second.source
    assert "int seven ( void );" in second.source
    assert "y = seven() + hidden;" in second.source  # computed initializer runs in the cell
    assert "static" not in first.source.split('#line 1 "In[1]"')[1].split("\n")[1]


def test_same_type_redefinition_reinitialises_in_place() -> None:
    program = Program()
    first = program.build("int counter = 1;\n", "In[1]")
    program.commit(
        first, Loaded(first.id, "src", "", "", "", "", first.source), {"size_counter": 4}
    )
    again = program.build("int counter = 5;\n", "In[2]")
    assert again.reinit == {"counter"}
    assert "counter" not in again.exclude
    assert "__nbc_copy(&counter, &__nbc_init_counter" in again.source
    assert program.reinit_conflicts(again, {"size_counter": 4}) == set()
    assert program.reinit_conflicts(again, {"size_counter": 8}) == {"counter"}
    changed = program.build("long counter = 5;\n", "In[3]")
    assert changed.reinit == set() and "counter" in changed.exclude


def test_flags_split_between_loader_and_compilers() -> None:
    flags = toolchain.parse_flags("-lm -l pthread -DX=1 -I include -O2 -march=native")
    assert flags.libraries == ["m", "pthread"]
    assert flags.tcc_options == ["-DX=1", "-Iinclude", "-O2"]
    assert "-march=native" in flags.gcc_options
    with pytest.raises(toolchain.FlagError):
        toolchain.parse_flags('-D"unclosed')


def test_diagnostics_name_the_cells_lines() -> None:
    diagnostics = (
        "In[3]: In function 'f':\n"
        "In[3]:4:9: error: 'y' undeclared (first use in this function)\n"
        "    4 |   return y;\n"
        "In[1]:2: warning: an old warning from an earlier cell\n"
    )
    assert toolchain.first_error(diagnostics, "In[3]") == (
        "line 4: 'y' undeclared (first use in this function)"
    )
    shown = toolchain.present(toolchain.select(diagnostics, "In[3]", ("error", "warning")), "In[3]")
    assert shown.startswith("In function 'f':\nline 4:9: error:")
    assert "earlier cell" not in shown


def test_output_sink_batches_and_truncates() -> None:
    sent: list[tuple[str, str]] = []
    sink = OutputSink(lambda name, text: sent.append((name, text)), limit=10, interval=60)
    for piece in ("abc", "def", "ghij", "klmnop"):
        sink.write("stdout", piece)
    sink.write("stderr", "late")
    sink.close()
    assert sent[0] == ("stdout", "abcdefghij")
    assert sent[-1][0] == "stderr" and "10 more bytes" in sent[-1][1]


def test_system_headers_come_from_a_preprocessed_block() -> None:
    asked: list[list[str]] = []

    def headers(lines: list[str]) -> Block:
        asked.append(lines)
        return Block("k1", "int printf(const char *, ...);\n")

    program = Program()
    unit = program.build(
        '#define _GNU_SOURCE\n#include <stdio.h>\n#include "mine.h"\nint x;\n',
        "In[1]",
        headers=headers,
    )
    assert asked == [["#define _GNU_SOURCE", "#include <stdio.h>"]]
    assert unit.block is not None and unit.block.key == "k1"
    assert "#include <stdio.h>" not in unit.source and "#include <stdio.h>" in unit.gcc_source
    assert '#include "mine.h"' in unit.source  # the notebook's own headers stay

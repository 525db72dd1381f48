"""C kernel benchmark: a 20-cell C notebook run top to bottom.

Three figures, side by side in one run:

  floor   the same code as one program: `gcc -O0 prog.c -o prog && ./prog`
  ours    the nbcampus C kernel ("c"), through jupyter_client, cell by cell; also
          without its gcc check of every cell, for what that check adds to a cell
  jck     `jupyter-c-kernel` from PyPI, which compiles every cell as a separate
          program, so it can only run the cells that are complete programs with
          their own main(); ours is timed on exactly those cells too.

jupyter-c-kernel is installed into a throwaway virtualenv under /tmp the first time
(`pip install jupyter-c-kernel ipykernel`); pass --no-jck to skip it.  Kernel start-up
is reported on its own line and not included in the cell figures.  The output of the
kernel run is compared with the program's output, so a kernel that skips work cannot
look fast.

    .venv/bin/python bench/ckernel_bench.py [--repeat 5] [--no-jck]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

JCK_VENV = Path(tempfile.gettempdir()) / "nbcampus-bench-jupyter-c-kernel"
# The kernel checks every cell with `gcc -Wall -fsyntax-only` (running beside tcc's compile)
# before it runs; timed with and without, interleaved, to show what the check costs a cell.
NO_GCC_CHECK = {"NBCAMPUS_CKERNEL_GCC_WARNINGS": "0"}
NO_GCC_CHECK_TEXT = "NBCAMPUS_CKERNEL_GCC_WARNINGS=0"

# Each cell: (definitions, statements, complete program?).  A notebook cell is the
# definitions followed by the statements; the floor program puts all definitions at
# file scope and all statements, in order, into main().  Complete programs keep their
# own main(), renamed to cellN_main() in the floor program.
CELLS: list[tuple[str, str, bool]] = [
    (
        "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <math.h>",
        "",
        False,
    ),
    ("#define N 2000\ntypedef struct { double x, y; } point;\nint counter = 0;", "", False),
    ("int add(int a, int b) { return a + b; }", 'printf("add %d\\n", add(2, 3));', False),
    (
        "long fact(int n) { return n <= 1 ? 1 : n * fact(n - 1); }",
        'printf("fact %ld\\n", fact(15));',
        False,
    ),
    (
        "int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }",
        'printf("fib %d\\n", fib(24));',
        False,
    ),
    (
        "int is_prime(int n) {\n  if (n < 2) return 0;\n"
        "  for (int d = 2; d * d <= n; d++) if (n % d == 0) return 0;\n  return 1;\n}",
        "int primes = 0;\nfor (int i = 0; i < 20000; i++) primes += is_prime(i);\n"
        'printf("primes %d\\n", primes);',
        False,
    ),
    (
        "int values[N];\nvoid fill(int *a, int n) { for (int i = 0; i < n; i++) "
        "a[i] = (i * 7919) % 1000; }",
        "fill(values, N);",
        False,
    ),
    (
        "void bubble(int *a, int n) {\n  for (int i = 0; i < n; i++)\n"
        "    for (int j = 0; j + 1 < n - i; j++)\n"
        "      if (a[j] > a[j + 1]) { int t = a[j]; a[j] = a[j + 1]; a[j + 1] = t; }\n}",
        'bubble(values, N);\nprintf("sorted %d %d %d\\n", values[0], values[N / 2], '
        "values[N - 1]);",
        False,
    ),
    (
        "double dist(point a, point b) { return sqrt((a.x - b.x) * (a.x - b.x) + "
        "(a.y - b.y) * (a.y - b.y)); }",
        'point p = {0, 0}, q = {3, 4};\nprintf("dist %.1f\\n", dist(p, q));',
        False,
    ),
    (
        "void reverse(char *s) {\n  size_t n = strlen(s);\n"
        "  for (size_t i = 0; i < n / 2; i++) { char t = s[i]; s[i] = s[n - 1 - i]; "
        "s[n - 1 - i] = t; }\n}",
        'char word[] = "notebook";\nreverse(word);\nprintf("reversed %s\\n", word);',
        False,
    ),
    (
        "int gcd(int a, int b) { return b == 0 ? a : gcd(b, a % b); }",
        'printf("gcd %d\\n", gcd(1071, 462));',
        False,
    ),
    (
        "void bump(void) { counter++; }",
        'for (int i = 0; i < 5; i++) bump();\nprintf("counter %d\\n", counter);',
        False,
    ),
    (
        "#include <stdio.h>\nint main(void) {\n  int sum = 0;\n"
        "  for (int i = 1; i <= 100; i++) sum += i;\n"
        '  printf("sum %d\\n", sum);\n  return 0;\n}',
        "",
        True,
    ),
    (
        "#include <stdio.h>\nint main(void) {\n"
        '  for (int i = 1; i <= 15; i++) printf(i % 15 == 0 ? "FizzBuzz " : '
        'i % 3 == 0 ? "Fizz " : i % 5 == 0 ? "Buzz " : "%d ", i);\n'
        '  printf("\\n");\n  return 0;\n}',
        "",
        True,
    ),
    (
        "#include <stdio.h>\nint main(void) {\n  double x = 1.0;\n"
        "  for (int i = 0; i < 30; i++) x = 0.5 * (x + 2.0 / x);\n"
        '  printf("sqrt2 %.6f\\n", x);\n  return 0;\n}',
        "",
        True,
    ),
    (
        "#include <stdio.h>\nint main(void) {\n  int t[10][10];\n"
        "  for (int i = 0; i < 10; i++) for (int j = 0; j < 10; j++) t[i][j] = i * j;\n"
        '  printf("table %d\\n", t[9][9] + t[3][7]);\n  return 0;\n}',
        "",
        True,
    ),
    (
        "#include <stdio.h>\n#include <string.h>\nint main(void) {\n"
        '  const char *s = "hello notebook world";\n  int v = 0;\n'
        '  for (size_t i = 0; i < strlen(s); i++) v += strchr("aeiou", s[i]) != NULL;\n'
        '  printf("vowels %d\\n", v);\n  return 0;\n}',
        "",
        True,
    ),
    (
        "#include <stdio.h>\nint main(void) {\n  unsigned h = 2166136261u;\n"
        "  for (int i = 0; i < 100000; i++) h = (h ^ (unsigned)i) * 16777619u;\n"
        '  printf("hash %u\\n", h);\n  return 0;\n}',
        "",
        True,
    ),
    (
        "int power(int b, int e) { int r = 1; while (e-- > 0) r *= b; return r; }",
        'printf("power %d\\n", power(3, 10));',
        False,
    ),
    (
        "int max_of(const int *a, int n) { int m = a[0]; for (int i = 1; i < n; i++) "
        "if (a[i] > m) m = a[i]; return m; }",
        'printf("max %d sum %d\\n", max_of(values, N), add(values[0], values[1]));',
        False,
    ),
]


def notebook_cells() -> list[str]:
    return [(d + "\n" + s).strip() + "\n" for d, s, _ in CELLS]


def floor_program() -> str:
    defs, body = [], []
    for index, (d, s, complete) in enumerate(CELLS):
        if complete:
            d = d.replace("int main(void)", f"int cell{index}_main(void)")
            body.append(f"cell{index}_main();")
        defs.append(d)
        if s:
            body.append("{\n" + s + "\n}")
    return "\n".join(defs) + "\nint main(void) {\n" + "\n".join(body) + "\nreturn 0;\n}\n"


def time_floor(repeat: int, workdir: Path) -> tuple[float, str]:
    source = workdir / "prog.c"
    source.write_text(floor_program())
    exe = workdir / "prog"
    times, output = [], ""
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(["gcc", "-O0", str(source), "-o", str(exe), "-lm"], check=True)
        output = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
        times.append(time.perf_counter() - start)
    return statistics.median(times), output


def run_kernel(
    manager: Callable[[], KernelManager],
    cells: list[str],
    repeat: int,
    env: dict[str, str] | None = None,
) -> tuple[float, float, str, list[str]]:
    """Median seconds for all cells (fresh kernel each time), median start-up, output."""
    totals, startups, output, errors = [], [], "", []
    for _ in range(repeat):
        km = manager()
        start = time.perf_counter()
        km.start_kernel(**({"env": {**os.environ, **env}} if env else {}))
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        startups.append(time.perf_counter() - start)
        chunks: list[str] = []
        errors = []

        def hook(msg: dict) -> None:
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                chunks.append(msg["content"]["text"])  # noqa: B023
            elif msg["msg_type"] == "error":
                errors.append(msg["content"]["evalue"])  # noqa: B023

        start = time.perf_counter()
        for code in cells:
            reply = kc.execute_interactive(code, output_hook=hook, timeout=60)
            if reply["content"]["status"] != "ok":
                errors.append(reply["content"].get("evalue", "error"))
        totals.append(time.perf_counter() - start)
        output = "".join(chunks)
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return statistics.median(totals), statistics.median(startups), output, errors


def jck_manager(workdir: Path) -> Callable[[], KernelManager]:
    python = JCK_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(JCK_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "jupyter-c-kernel", "ipykernel"],
            check=True,
        )
    spec_dir = workdir / "kernels" / "jupyter-c-kernel"
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "jupyter_c_kernel", "-f", "{connection_file}"],
                "display_name": "C (jupyter-c-kernel)",
                "language": "c",
            }
        )
    )
    ksm = KernelSpecManager(kernel_dirs=[str(workdir / "kernels")])
    return lambda: KernelManager(kernel_name="jupyter-c-kernel", kernel_spec_manager=ksm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--no-jck", action="store_true", help="skip jupyter-c-kernel")
    args = parser.parse_args()
    cells = notebook_cells()
    complete = [c for c, (_, _, whole) in zip(cells, CELLS, strict=True) if whole]
    ours_km = lambda: KernelManager(kernel_name="c")  # noqa: E731
    floors, ours_runs, ours_starts, unchecked_runs = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        # Interleaved, so a change in the machine's load hits both figures alike.
        for _ in range(args.repeat):
            floor, floor_out = time_floor(1, workdir)
            ours, ours_start, ours_out, ours_errors = run_kernel(ours_km, cells, 1)
            unchecked, _, _, _ = run_kernel(ours_km, cells, 1, env=NO_GCC_CHECK)
            unchecked_runs.append(unchecked)
            floors.append(floor)
            ours_runs.append(ours)
            ours_starts.append(ours_start)
        floor, ours, ours_start = (statistics.median(x) for x in (floors, ours_runs, ours_starts))
        unchecked = statistics.median(unchecked_runs)
        ours_sub, _, _, _ = run_kernel(ours_km, complete, args.repeat)
        jck = None
        if not args.no_jck:
            jck, jck_start, _, _ = run_kernel(jck_manager(workdir), complete, args.repeat)

    print(f"C notebook: {len(cells)} cells, {len(complete)} of them complete programs")
    load = os.getloadavg()[0]
    print(f"  medians of {args.repeat} runs; load average {load:.1f} on {os.cpu_count()} cores")
    print(f"  gcc floor (one program, compile + run) {floor * 1000:8.1f} ms")
    print(f"  nbcampus C kernel, all {len(cells)} cells      {ours * 1000:8.1f} ms")
    print(f"    ratio to the floor                    {ours / floor:8.2f}x  (goal <= 1.5x)")
    print(f"  kernel start-up (not counted above)     {ours_start * 1000:8.1f} ms")
    print(f"  the same without gcc's check ({NO_GCC_CHECK_TEXT})")
    print(f"    all {len(cells)} cells                          {unchecked * 1000:8.1f} ms")
    added = (ours - unchecked) / len(cells)
    print(f"    gcc's check adds per cell             {added * 1000:8.1f} ms")
    same = ours_out == floor_out
    print(f"  output identical to the program's       {'yes' if same else 'NO'}")
    if ours_errors:
        print(f"  errors: {ours_errors}")
    print(f"  on the {len(complete)} complete-program cells:")
    print(f"    nbcampus C kernel                     {ours_sub * 1000:8.1f} ms")
    if jck is not None:
        print(f"    jupyter-c-kernel                      {jck * 1000:8.1f} ms")
        print(f"    jupyter-c-kernel / ours               {jck / ours_sub:8.2f}x")
        print(f"    jupyter-c-kernel start-up             {jck_start * 1000:8.1f} ms")
        print(f"  jupyter-c-kernel can run {len(complete)} of the {len(cells)} cells")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    main()

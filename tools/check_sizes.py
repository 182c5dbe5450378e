#!/usr/bin/env python3
"""Fails when a source file or a function grows past what one reading holds.

Files under the layer folders (and tools/, bench/) may have at most
MAX_FILE lines; a function body at most MAX_FUNCTION lines. A function is
found the way its author wrote it: a line that ends a signature with "{"
at namespace or class depth, up to the "}" at the same indentation. Lambdas
and blocks inside are part of their function. Prints each offender with
file:line and exits 1; prints the largest of each kind when all pass.
A CTest entry beside the layering check, so the test command fails with it.
"""
import os
import re
import sys

MAX_FILE = 650
MAX_FUNCTION = 120
ROOTS = ["runtime", "storage", "actors", "adapters", "tools", "bench"]
STRINGS = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'')


def functions(lines):
    """(first line, length, signature) of each function body: a brace block
    opened at namespace or class level after a statement with a ')' in it."""
    stack = []      # per open brace: "ns", "class", "fn" or "block"
    statement = ""  # the text since the last ; { or }
    starts = {}     # stack depth -> (line, signature) of an open function
    in_comment = False
    for n, raw in enumerate(lines, 1):
        line = raw
        if in_comment:
            if "*/" not in line:
                continue
            line = line[line.index("*/") + 2:]
            in_comment = False
        line = STRINGS.sub('""', line).split("//")[0]
        if "/*" in line:
            in_comment = "*/" not in line[line.index("/*"):]
            line = re.sub(r"/\*.*?(\*/|$)", "", line)
        if line.lstrip().startswith("#"):
            continue
        for ch in line:
            if ch == "{":
                head = statement.strip()
                outer = all(k in ("ns", "class") for k in stack)
                if re.match(r"(inline\s+)?namespace\b|extern\s", head):
                    kind = "ns"
                elif re.match(r"(template\s*<[^{]*>\s*)?(class|struct|union|enum)\b", head) and "(" not in head:
                    kind = "class"
                elif outer and ")" in head and not head.endswith("="):
                    kind = "fn"
                    starts[len(stack)] = (n, " ".join(head.split())[:90])
                else:
                    kind = "block"
                stack.append(kind)
                statement = ""
            elif ch == "}":
                if stack:
                    kind = stack.pop()
                    if kind == "fn" and len(stack) in starts:
                        first, sig = starts.pop(len(stack))
                        yield first, n - first + 1, sig
                statement = ""
            elif ch == ";":
                statement = ""
            else:
                statement += ch
        statement += " "


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bad = []
    biggest_file = (0, "")
    biggest_fn = (0, "")
    for root in ROOTS:
        for dirpath, dirs, files in os.walk(os.path.join(repo, root)):
            dirs[:] = [d for d in dirs if d != "node_modules"]  # npm packages (bench/langgraph): not ours
            for f in files:
                if not f.endswith((".cpp", ".hpp")):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, repo)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    lines = fh.read().split("\n")
                n = len(lines) - (1 if lines and lines[-1] == "" else 0)
                biggest_file = max(biggest_file, (n, rel))
                if n > MAX_FILE:
                    bad.append(f"{rel}: {n} lines (at most {MAX_FILE}): split it by topic")
                for line, length, sig in functions(lines):
                    biggest_fn = max(biggest_fn, (length, f"{rel}:{line}"))
                    if length > MAX_FUNCTION:
                        bad.append(f"{rel}:{line}: a function of {length} lines (at most {MAX_FUNCTION}): {sig[:80]}")
    if bad:
        print("\n".join(bad))
        print(f"check_sizes: {len(bad)} over the limits")
        return 1
    print(f"check_sizes: every file at most {MAX_FILE} lines (largest {biggest_file[1]}, {biggest_file[0]}), "
          f"every function at most {MAX_FUNCTION} (largest {biggest_fn[1]}, {biggest_fn[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

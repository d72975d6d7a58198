#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""C source rules that need more than a grep, for tests/check-source.sh (stdlib only).

  unchecked FILE...   strtol-family calls with a NULL end pointer (no way to see garbage after the
                      number), and allocations (malloc, calloc, realloc, reallocarray, strdup, strndup)
                      whose result is neither returned nor tested for NULL right after.
  cycles DIR...       the module graph of each folder: a module (x.c with x.h) depends on y when x.c or
                      x.h includes y.h, or x.c calls a function y.c defines; a cycle fails.

One line per finding ("file:line: what"); exit 1 when there is any.
"""
import os
import re
import sys

STRTO = re.compile(r"\bstrto(?:l|ul|ll|ull|imax|umax|d|f|ld)\s*\(")
ALLOC = re.compile(r"\b(?:malloc|calloc|realloc|reallocarray|strdup|strndup)\s*\(")
# Lines after an allocation within which its NULL test must come.
ALLOC_CHECK_LINES = 10
DEFINITION = re.compile(r"^(?!static\b)[A-Za-z_][\w \t*]*?\b([A-Za-z_]\w*)\s*\([^;{]*?\)\s*\{", re.M)
LVALUE = re.compile(r"(\*?[A-Za-z_][\w.\->\[\]]*)\s*=(?!=)")
INCLUDE = re.compile(r'^#include "([^"]+)"', re.M)


def strip_c(text):
    """Comments and string/char literals blanked (newlines kept, so offsets and lines stay)."""
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    pattern = r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\''
    return re.sub(pattern, lambda m: blank(m) if m.group(0)[0] == "/" else
                  m.group(0)[0] + " " * (len(m.group(0)) - 2) + m.group(0)[-1], text, flags=re.S)


def call_args(text, open_paren):
    """The top-level arguments of the call whose '(' is at open_paren."""
    depth, args, start = 0, [], open_paren + 1
    for i in range(open_paren, len(text)):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append(text[start:i].strip())
                return args
        elif c == "," and depth == 1:
            args.append(text[start:i].strip())
            start = i + 1
    return args


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def statement_bounds(text, offset):
    start = max(text.rfind(c, 0, offset) for c in ";{}") + 1
    end = min((i for i in (text.find(c, offset) for c in ";{") if i >= 0), default=len(text))
    return start, end


def is_null_test(code, lhs):
    v = r"(?<![\w.>])" + re.escape(lhs) + r"(?![\w\[]|\s*(?:->|\.))"
    return re.search(rf"!\s*{v}|{v}\s*[!=]=\s*NULL|NULL\s*[!=]=\s*{v}|\bif\s*\(\s*{v}\s*\)|"
                     rf"{v}\s*(?:&&|\|\||\?)", code) is not None


def check_unchecked(path):
    raw = open(path, encoding="utf-8").read()
    code = strip_c(raw)
    found = []
    for m in STRTO.finditer(code):
        args = call_args(code, m.end() - 1)
        if len(args) >= 2 and args[1] in ("NULL", "0", "(char **)NULL"):
            found.append(f"{path}:{line_of(code, m.start())}: {m.group(0).rstrip('( ')}() with a NULL end "
                         "pointer: pass &end and check errno, end != s and *end")
    for m in ALLOC.finditer(code):
        start, _ = statement_bounds(code, m.start())
        stmt = code[start:m.start()].strip()
        name = m.group(0).rstrip("( ")
        if re.match(r"return\b", stmt):
            continue  # the caller gets the NULL and checks it
        # The variables the result is assigned to ("a = b = calloc(...)", "p = c ? strdup(s) : NULL").
        targets = LVALUE.findall(code[start:m.start()])
        targets += [t.lstrip("*") for t in targets]  # "type *p = malloc(...)" declares p
        window = "\n".join(code[m.start():].split("\n")[:ALLOC_CHECK_LINES + 1])
        if any(is_null_test(window, lhs) for lhs in targets):
            continue
        found.append(f"{path}:{line_of(code, m.start())}: {name}() result not tested for NULL within "
                     f"{ALLOC_CHECK_LINES} lines: test it (or return it) where it is made")
    return found


def module_graph(folder):
    names = sorted(f for f in os.listdir(folder) if f.endswith((".c", ".h")))
    modules = {os.path.splitext(f)[0] for f in names}
    defined_in, code_of = {}, {}
    for f in names:
        code_of[f] = strip_c(open(os.path.join(folder, f), encoding="utf-8").read())
        if f.endswith(".c"):
            for m in DEFINITION.finditer(code_of[f]):
                defined_in[m.group(1)] = os.path.splitext(f)[0]
    edges = {m: {} for m in modules}
    for f in names:
        me = os.path.splitext(f)[0]
        raw = open(os.path.join(folder, f), encoding="utf-8").read()
        for inc in INCLUDE.findall(raw):
            dep = os.path.splitext(inc)[0]
            if inc.endswith(".h") and dep in modules and dep != me:
                edges[me].setdefault(dep, f"{f} includes {inc}")
        if f.endswith(".c"):
            for word in set(re.findall(r"\b[A-Za-z_]\w*\b", code_of[f])):
                dep = defined_in.get(word)
                if dep and dep != me:
                    edges[me].setdefault(dep, f"{f} calls {word}()")
    return edges


def find_cycle(edges):
    """A list of modules forming a cycle (first == last), or None."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for dep in sorted(edges[node]):
            if state.get(dep) == "open":
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                cycle = visit(dep)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def check_cycles(folder):
    edges = module_graph(folder)
    cycle = find_cycle(edges)
    if not cycle:
        return []
    why = "; ".join(edges[a][b] for a, b in zip(cycle, cycle[1:]))
    return [f"{folder}: module cycle {' -> '.join(cycle)} ({why})"]


def main(argv):
    if len(argv) < 3 or argv[1] not in ("unchecked", "cycles"):
        print(__doc__, file=sys.stderr)
        return 2
    check = check_unchecked if argv[1] == "unchecked" else check_cycles
    found = [line for target in argv[2:] for line in check(target)]
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

# SPDX-License-Identifier: Apache-2.0
# The rules of tests/check_source.py (run by tests/check-source.sh) on small C files: each finding it
# must report, and the checked forms it must accept.
import subprocess
import sys
from pathlib import Path

import pytest

CHECKER = Path(__file__).resolve().parent.parent / "check_source.py"


def run(*args):
    return subprocess.run([sys.executable, str(CHECKER), *map(str, args)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=30)


def write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize("source,message", [
    ("long f(const char *s)\n{\n        return strtol(s, NULL, 10);\n}\n", "strtol() with a NULL end pointer"),
    ("void f(struct x *p, const char *s)\n{\n        p->name = strdup(s);\n        p->len = strlen(s);\n}\n",
     "strdup() result not tested for NULL"),
], ids=["strtol-without-end-pointer", "allocation-without-null-test"])
def test_unchecked_call_is_reported_with_its_line(tmp_path, source, message):
    c = write(tmp_path / "a.c", source)
    out = run("unchecked", c)
    assert out.returncode == 1
    assert out.stdout.startswith(f"{c}:3: {message}")


def test_strtod_with_a_nested_call_as_first_argument_is_reported(tmp_path):
    c = write(tmp_path / "a.c", "double f(const PGresult *r)\n{\n        return strtod(PQgetvalue(r, 0, 0), NULL);\n}\n")
    assert run("unchecked", c).returncode == 1


def test_strtol_with_end_pointer_is_accepted(tmp_path):
    c = write(tmp_path / "a.c", "long f(const char *s)\n{\n        char *end;\n        long v = strtol(s, &end, 10);\n"
                                "        return *end ? -1 : v;\n}\n")
    out = run("unchecked", c)
    assert out.returncode == 0, out.stdout


def test_allocation_passed_straight_to_a_call_is_reported(tmp_path):
    c = write(tmp_path / "a.c", "void f(const char *s)\n{\n        keep(strdup(s));\n}\n")
    assert run("unchecked", c).returncode == 1


def test_tested_returned_and_declared_allocations_are_accepted(tmp_path):
    c = write(tmp_path / "a.c",
              "char *f(const char *s)\n{\n        return strdup(s);\n}\n"
              "int g(char **ret)\n{\n        *ret = strdup(\"x\");\n        return *ret ? 0 : -ENOMEM;\n}\n"
              "int h(void)\n{\n        struct x *p = calloc(1, sizeof(*p));\n\n        if (!p)\n"
              "                return -ENOMEM;\n        return 0;\n}\n"
              "int k(struct x *p, const char *s)\n{\n        p->a = s ? strdup(s) : NULL;\n"
              "        if (s && !p->a)\n                return -ENOMEM;\n        return 0;\n}\n")
    out = run("unchecked", c)
    assert out.returncode == 0, out.stdout


def test_call_cycle_between_two_modules_is_reported_with_its_edges(tmp_path):
    write(tmp_path / "pool.h", "int pool_get(void);\n")
    write(tmp_path / "pool.c", '#include "pool.h"\n#include "faults.h"\nint pool_get(void)\n{\n'
                               "        return faults_delay();\n}\n")
    write(tmp_path / "faults.h", "int faults_delay(void);\n")
    write(tmp_path / "faults.c", '#include "faults.h"\nint faults_delay(void)\n{\n        return pool_get();\n}\n')
    out = run("cycles", tmp_path)
    assert out.returncode == 1
    assert "module cycle faults -> pool -> faults" in out.stdout
    assert "faults.c calls pool_get()" in out.stdout and "pool.c includes faults.h" in out.stdout


def test_include_cycle_through_a_header_is_reported(tmp_path):
    write(tmp_path / "a.h", '#include "b.h"\n')
    write(tmp_path / "b.h", "struct b;\n")
    write(tmp_path / "b.c", '#include "b.h"\n#include "a.h"\n')
    assert run("cycles", tmp_path).returncode == 1


def test_layered_modules_are_accepted(tmp_path):
    write(tmp_path / "pool.h", "int pool_get(int delay);\n")
    write(tmp_path / "pool.c", '#include "pool.h"\nint pool_get(int delay)\n{\n        return delay;\n}\n')
    write(tmp_path / "query.c", '#include "pool.h"\nint query(void)\n{\n        return pool_get(0);\n}\n')
    out = run("cycles", tmp_path)
    assert out.returncode == 0, out.stdout

# SPDX-License-Identifier: Apache-2.0
# Counts the test cases of one scripts/test step from its machine-readable report and prints one line,
# "passed failed skipped undeclared": meson's testlog.json (TAP lines of the cmocka executables) or a
# pytest JUnit XML report. "undeclared" counts the skipped cases that tests/declared-skips.txt does not
# list; their ids go to stderr. A report that cannot be read ends with status 1 (the step records a
# failure: an unreadable report never counts as "0 passed, 0 failed").
#
# Usage: count-cases.py meson TESTLOG.JSON DECLARED | count-cases.py junit REPORT.XML DECLARED
import json
import re
import sys
import xml.etree.ElementTree as ET

GOOD = {"OK", "SKIP", "EXPECTEDFAIL"}


def declared_ids(path):
    """The ids of tests/declared-skips.txt (second field of each non-comment line)."""
    ids = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split(None, 2)
            if not fields or fields[0].startswith("#"):
                continue
            if len(fields) < 3 or fields[0] not in ("skip", "xfail"):
                raise ValueError(f"{path}: expected 'skip|xfail ID REASON', got {line.strip()!r}")
            ids.add(fields[1])
    return ids


def count_meson(path):
    """Every TAP 'ok' and 'not ok' line counts; when an executable failed (a crash, a sanitizer abort,
    a timeout), the planned cases that never reported count as failed, and at least one case does."""
    passed = failed = 0
    skipped = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            test = json.loads(line)
            name = f"meson:{test.get('name')}"
            t_pass = t_fail = t_skip = planned = 0
            for tap in (test.get("stdout") or "").splitlines():
                plan = re.match(r"\s*1\.\.(\d+)", tap)
                if plan:
                    planned += int(plan.group(1))
                    continue
                m = re.match(r"\s*(not ok|ok)\b(.*)", tap)
                if not m:
                    continue
                directive = m.group(2).upper()
                if "# SKIP" in directive or "# TODO" in directive:
                    t_skip += 1
                elif m.group(1) == "ok":
                    t_pass += 1
                else:
                    t_fail += 1
            if test.get("result") in GOOD:
                if t_pass + t_fail + t_skip == 0:
                    if test.get("result") == "SKIP":
                        t_skip = 1
                    else:
                        t_pass = 1
            else:
                t_fail = max(t_fail, 1, planned - t_pass - t_skip)
            passed += t_pass
            failed += t_fail
            skipped += [name] * t_skip
    return passed, failed, skipped


def count_junit(path):
    """Each testcase: failed (failure/error), skipped (skip or xfail), else passed. Its id is the one
    tests/declared-skips.txt uses: FILE.py::NAME (relative to tests/integration)."""
    passed = failed = 0
    skipped = []
    root = ET.parse(path).getroot()
    cases = list(root.iter("testcase"))
    if not cases and root.tag not in ("testsuites", "testsuite"):
        raise ValueError(f"{path} is not a JUnit report")
    for case in cases:
        kinds = {child.tag for child in case}
        if kinds & {"failure", "error"}:
            failed += 1
        elif "skipped" in kinds:
            module = case.get("classname", "").split(".")[-1]
            skipped.append(f"{module}.py::{case.get('name')}")
        else:
            passed += 1
    return passed, failed, skipped


def main(kind, report, declared_path):
    declared = declared_ids(declared_path)
    passed, failed, skipped = (count_meson if kind == "meson" else count_junit)(report)
    undeclared = [s for s in skipped if s not in declared]
    for s in undeclared:
        print(f"undeclared skip: {s}", file=sys.stderr)
    print(passed, failed, len(skipped), len(undeclared))


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("meson", "junit"):
        sys.exit("usage: count-cases.py meson|junit REPORT DECLARED")
    try:
        main(*sys.argv[1:])
    except (OSError, ValueError, ET.ParseError, json.JSONDecodeError) as e:
        print(f"count-cases.py: cannot read {sys.argv[2]}: {e}", file=sys.stderr)
        sys.exit(1)

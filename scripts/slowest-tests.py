#!/usr/bin/env python3
"""The ten slowest tests of one `make test` run, Swift and Python in one list, and how long each phase took.

`make test` has 30 minutes on CI and is near it: this list, printed at the end of every run, says where the time goes
(and which test to move to Swift or make wait on a condition) without re-running anything.

    slowest-tests.py [--swift-log FILE] [--junit FILE] [--top N] [--phase NAME=SECONDS ...]

--swift-log is the output of `swift test` (Swift Testing's "Test x() passed after 1.2 seconds." lines and XCTest's
"Test Case '...' passed (1.2 seconds)."), --junit pytest's --junitxml file. The summary is informational: a missing or
unreadable input is said in one line and the exit status is always 0, so it can neither fail a green run nor hide a
red one (scripts/test.sh decides that)."""
import argparse
import pathlib
import re
import sys
import xml.etree.ElementTree as ElementTree

ROOT = pathlib.Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Swift Testing: `✔ Test name() passed after 0.384 seconds.`, `✘ Test "display name" failed after 2.1 seconds with 1 issue.`,
# `✔ Test name(_:) with 16 test cases passed after 0.384 seconds.` Suites and the whole run ("Test run with ...") are not tests.
SWIFT_TESTING = re.compile(r"\bTest (?!run with )(?P<name>.+?)(?: with \d+ test cases?)? (?P<outcome>passed|failed) after "
                           r"(?P<seconds>[0-9.]+) seconds")
# XCTest: `Test Case '-[Module.Class testName]' passed (1.234 seconds).` or, on Linux, `Test Case 'Class.testName' ...`.
XCTEST = re.compile(r"Test Case '(?:-\[)?(?P<name>[^'\]]+)\]?' (?P<outcome>passed|failed) \((?P<seconds>[0-9.]+) seconds\)")


def swift_tests(path):
    """(seconds, name, failed) of every test case in a `swift test` log."""
    found = []
    for line in open(path, errors="replace"):
        line = ANSI.sub("", line)
        match = XCTEST.search(line) or SWIFT_TESTING.search(line)
        if match:
            found.append((float(match["seconds"]), match["name"], match["outcome"] == "failed"))
    return found


def swift_sources():
    """Test target and file of each Swift function name, so a Swift Testing name (which has no suite) can be found."""
    where = {}
    for source in sorted(ROOT.glob("Tests/*/*.swift")):
        for name in re.findall(r"\bfunc\s+(\w+)\s*\(", source.read_text(errors="replace")):
            where.setdefault(name, set()).add(f"{source.parent.name}/{source.name}")
    return where


def swift_label(name, where):
    """`Target/File.swift: name()` where the name is one function's in Tests/, the bare name otherwise."""
    files = where.get(name.split("(", 1)[0], set())
    return f"{next(iter(files))}: {name}" if len(files) == 1 else name


def pytest_tests(path):
    """(seconds, node id, failed) of every test case in a pytest JUnit XML file (time is setup + call + teardown)."""
    found = []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        if case.find("skipped") is not None:
            continue
        found.append((float(case.get("time") or 0), node_id(case.get("classname", ""), case.get("name", "")),
                      case.find("failure") is not None or case.find("error") is not None))
    return found


def node_id(classname, name):
    """`pytests.test_x.TestY` + `test_z[a]` -> `pytests/test_x.py::TestY::test_z[a]`, the id pytest takes to re-run it."""
    parts = classname.split(".")
    for cut in range(len(parts), 0, -1):
        module = "/".join(parts[:cut]) + ".py"
        if (ROOT / module).exists():
            return "::".join([module, *parts[cut:], name])
    return f"{classname}::{name}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--swift-log")
    parser.add_argument("--junit")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--phase", action="append", default=[], help="NAME=SECONDS, in the order they ran")
    args = parser.parse_args()

    tests = []
    for kind, path, read in (("swift", args.swift_log, swift_tests), ("pytest", args.junit, pytest_tests)):
        if not path:
            continue
        try:
            found = read(path)
        except (OSError, ElementTree.ParseError, ValueError) as error:
            print(f"slowest tests: could not read the {kind} results ({error})")
            continue
        if kind == "swift" and found:
            where = swift_sources()
            found = [(seconds, swift_label(name, where), failed) for seconds, name, failed in found]
        tests += [(seconds, kind, name, failed) for seconds, name, failed in found]

    print(f"\nThe {args.top} slowest tests of this run ({len(tests)} timed):")
    for seconds, kind, name, failed in sorted(tests, key=lambda t: -t[0])[:args.top]:
        print(f"  {seconds:8.1f} s  {kind:<6}  {name}{'  (failed)' if failed else ''}")
    phases = []
    for phase in args.phase:
        name, _, seconds = phase.partition("=")
        if seconds.strip().isdigit():
            phases.append(f"{name} {int(seconds) // 60}m{int(seconds) % 60:02d}s")
    if phases:
        print("Phases: " + ", ".join(phases))


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # informational only: never let the summary decide a run's outcome
        print(f"slowest tests: no summary ({type(error).__name__}: {error})")
    sys.exit(0)

#!/usr/bin/env python3
"""The layering rules of docs/ARCHITECTURE.md, checked on every `make test`:

- every `import` of a package target or product is declared in Package.swift (no transitive imports);
- pure targets depend on no I/O library and no I/O target;
- no back edges: the API never depends on the worker, the agent never on PostgreSQL code (even transitively);
- SQL lives in stores: no query text in the API, the worker's job handlers, the orchestrator or the use cases;
- transactions belong to the use cases (StowageUseCases): no file of StowageAPI imports PostgresNIO but those
  still waiting to move (a list that only shrinks).
Prints every violation and exits 1 if there is any."""
import json
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SYSTEM = {"Foundation", "FoundationEssentials", "FoundationNetworking", "Synchronization", "Dispatch", "Glibc", "Darwin",
          "Testing", "XCTest", "os", "Musl"}
PURE = {"StowageModel", "StowageScheduler", "StowageMonitoringRules", "StowageSigning", "StowageProxyConfig", "StowageDNS"}
IO_PRODUCTS = {"PostgresNIO", "_ConnectionPoolModule", "Hummingbird", "AsyncHTTPClient", "NIOCore", "NIOPosix", "NIOHTTP1",
               "ServiceLifecycle", "Prometheus", "Metrics", "CoreMetrics", "Logging"}
FORBIDDEN_EDGES = {("StowageAPI", "StowageWorker"), ("StowageOrchestrator", "StowageWorker"), ("StowageOrchestrator", "StowageAPI"),
                   ("StowageUseCases", "StowageAPI"), ("StowageUseCases", "StowageWorker")}
NO_POSTGRES = {"StowageAgent"}
SQL_FREE = {"StowageAPI", "StowageWorker", "StowageOrchestrator", "StowageUseCases", "stowage"}
# StowageAPI files that still open their own transactions (issue 24 §2). A door file moved to use cases leaves
# this list, and none may join it: a handler decodes, authorizes, calls one use case and shapes the answer.
API_POSTGRES_NOT_YET_MOVED: set[str] = set()
SQL = re.compile(r"\b(conn\.query|SELECT\s+[\w*(]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|pg_notify|pg_advisory)")


def main():
    package = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=ROOT, capture_output=True, text=True,
                                        check=True).stdout)
    targets = {}
    for target in package["targets"]:
        deps = set()
        for dep in target["dependencies"]:
            kind = next(iter(dep))
            deps.add(dep[kind][0])
        default = "Tests" if target["type"] == "test" else "Sources"
        targets[target["name"]] = (deps, ROOT / (target.get("path") or f"{default}/{target['name']}"))
    problems = []

    def closure(name, seen=None):
        seen = seen if seen is not None else set()
        for dep in targets.get(name, (set(), None))[0]:
            if dep not in seen:
                seen.add(dep)
                closure(dep, seen)
        return seen

    for name, (deps, path) in sorted(targets.items()):
        for source in sorted(path.rglob("*.swift")):
            text = source.read_text()
            for module in re.findall(r"^\s*(?:@testable\s+|@_exported\s+)?import\s+(\w+)", text, re.M):
                if module not in SYSTEM and module != name and module not in deps:
                    problems.append(f"{source.relative_to(ROOT)}: imports {module}, not declared for {name} in Package.swift")
            if name == "StowageAPI" and re.search(r"^import PostgresNIO", text, re.M):
                relative = str(source.relative_to(path))
                if relative not in API_POSTGRES_NOT_YET_MOVED:
                    problems.append(f"{source.relative_to(ROOT)}: imports PostgresNIO; a door calls a use case (StowageUseCases) instead")
            if name in SQL_FREE:
                for number, line in enumerate(text.splitlines(), 1):
                    if SQL.search(line) and not line.strip().startswith("//") and "layering: bootstrap" not in line:
                        problems.append(f"{source.relative_to(ROOT)}:{number}: SQL outside a store: {line.strip()[:80]}")
        if name in PURE:
            bad = (deps & IO_PRODUCTS) | {d for d in deps if d in targets and d not in PURE}
            if bad:
                problems.append(f"{name} is pure but depends on {sorted(bad)}")
        for a, b in FORBIDDEN_EDGES:
            if name == a and b in closure(name):
                problems.append(f"{a} must not depend on {b}")
        if name in NO_POSTGRES and ({"PostgresNIO", "StowageStore"} & closure(name)):
            problems.append(f"{name} must not link PostgreSQL code")
    api = targets.get("StowageAPI", (set(), ROOT))[1]
    for relative in sorted(API_POSTGRES_NOT_YET_MOVED):
        if not (api / relative).exists() or not re.search(r"^import PostgresNIO", (api / relative).read_text(), re.M):
            problems.append(f"Sources/StowageAPI/{relative} no longer imports PostgresNIO: take it off API_POSTGRES_NOT_YET_MOVED")
    for problem in problems:
        print(problem)
    print(f"layering: {len(targets)} targets checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

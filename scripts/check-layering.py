#!/usr/bin/env python3
"""The layering rules of docs/ARCHITECTURE.md, checked on every `make test`:

- every `import` of a package target or product is declared in Package.swift (no transitive imports);
- pure targets depend on no I/O library and no I/O target;
- no back edges: the API never depends on the worker, the agent never on PostgreSQL code (even transitively);
- SQL lives in stores: no query text in the API, the worker's job handlers, the orchestrator or the use cases;
- transactions belong to the use cases (StowageUseCases): StowageAPI, StowageWorker and StowageLoadBalancer do not
  depend on PostgresNIO, and no door, job handler, load balancer supervisor or command opens a transaction or
  leases a connection.
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
# Who may open a transaction or lease a connection (`database.transaction`, `.withConnection`): the use cases, the
# stores (the pool, migrations, LISTEN), IAM's tenancy (below the use cases: the signature verifier reads keys through
# it) and the worker's queue loop (Worker.swift). Not the doors (StowageAPI), the job handlers, the load balancer's
# supervisor or the commands: they decode, call one use case and act on its answer.
NO_TRANSACTIONS = {"StowageAPI": None, "StowageWorker": {"Worker.swift"}, "StowageLoadBalancer": None, "stowage": None}
NO_POSTGRES_DEPENDENCY = {"StowageAPI", "StowageWorker", "StowageLoadBalancer"}
TRANSACTION = re.compile(r"\.(transaction|withConnection)\s*[({]")
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
            if name in NO_TRANSACTIONS and str(source.relative_to(path)) not in (NO_TRANSACTIONS[name] or set()):
                for number, line in enumerate(text.splitlines(), 1):
                    if TRANSACTION.search(line) and not line.strip().startswith("//"):
                        problems.append(f"{source.relative_to(ROOT)}:{number}: opens a transaction; call a use case (StowageUseCases) instead")
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
        if name in NO_POSTGRES_DEPENDENCY and "PostgresNIO" in deps:
            problems.append(f"{name} must not depend on PostgresNIO: its database work is the use cases'")
    for problem in problems:
        print(problem)
    print(f"layering: {len(targets)} targets checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

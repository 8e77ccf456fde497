# Stowage: `make dev` runs everything on this machine; `make test` runs every test.
.PHONY: dev test build deps bench bench-api bench-placement bench-scale bench-agent bench-monitoring bench-iam bench-storm bench-secrets bench-lb bench-console bench-fleet bench-awsvpc chaos test-image clean

build:
	swift build

deps:
	scripts/install-deps.sh

dev: deps build
	scripts/dev.sh

test:
	scripts/test.sh

# The container image built with Podman from local bases, run with podman-compose, driven with boto3.
# Slow (a release build inside the image), so not part of make test.
test-image:
	scripts/test-image.sh

# Benchmarks measure speed; the tests never assert on it.
bench: bench-placement bench-api bench-scale bench-agent bench-monitoring bench-iam bench-storm bench-secrets bench-lb bench-console

bench-placement:
	swift build -c release --product PlacementBench
	.build/release/PlacementBench

bench-api:
	scripts/bench-api.sh

bench-scale:
	scripts/bench-scale.sh

bench-agent:
	scripts/bench-agent.sh

clean:
	rm -rf .build .stowage

bench-monitoring:
	scripts/bench-monitoring.sh

bench-iam:
	scripts/bench-iam.sh

# Issue 14: GetParameter with decryption against DescribeClusters; what 10 secrets add to a task's start.
bench-secrets:
	scripts/bench-secrets.sh

# Issue 15: through the load balancer vs the same tasks directly; RUNNING -> first proxied answer; StopTask -> unrouted.
bench-lb:
	scripts/bench-lb.sh

# Issue 16: the console's services view with 200 services and 2,000 tasks in headless Chromium (first paint, table
# complete, against an empty account), and what the console ships, gzip-compressed.
bench-console:
	scripts/bench-console.sh

# A simulated fleet (1,000 and 5,000 agents on the real agent protocol) and services scaled 0 -> 10,000 and
# 50,000 tasks: time to every task RUNNING as reported, tasks/s, server CPU and RSS, DescribeClusters p99.
# Minutes of load: not part of `make bench`.
bench-fleet:
	scripts/bench-fleet.sh

# Issue 25: RunTask -> RUNNING p50 for awsvpc against bridge tasks, and requests/s between awsvpc tasks on one host
# against two hosts (network namespaces of its own). Needs root.
bench-awsvpc:
	scripts/bench-awsvpc.sh

# One agent scaling 0 -> 1,000 -> 0: state reports per transition, an unrelated DescribeClusters' p99, pool use.
bench-storm:
	scripts/bench-storm.sh

# The outage matrix (database down 10 s / 70 s / 5 min, server down, all workers down) on the real processes:
# too slow for make test, whose database outage lasts until a sweep blind to it would stop tasks (about 20 s).
# Prints one FIGURE line per row.
chaos:
	scripts/chaos.sh

# Stowage: `make dev` runs everything on this machine; `make test` runs every test.
.PHONY: dev test build deps bench bench-api clean

build:
	swift build

deps:
	scripts/install-deps.sh

dev: deps build
	.build/debug/stowage dev

test:
	scripts/test.sh

bench: bench-api

bench-api:
	scripts/bench-api.sh

clean:
	rm -rf .build .stowage

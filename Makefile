# churn — see README.md. `make demo` and `make test` set up everything they
# need on a Debian/Ubuntu machine with Go installed.

GO        ?= go
BIN       := bin/churn
DEMO_DIR  ?= demo
NODE_DIR  := .cache/node
DUCKDB    := $(NODE_DIR)/node_modules/@duckdb/node-api/package.json
PLAYWRIGHT := $(NODE_DIR)/node_modules/playwright-core/package.json
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export CGO_ENABLED := 1

.PHONY: postgres all deps build test unit lint demo demo-ecommerce bench e2e fuzz duckdb browser clean beam test-beam bench-beam image

all: build

# System packages: XGBoost's C library (cgo). Installed only when missing.
deps:
	@if [ ! -f /usr/include/xgboost/c_api.h ]; then \
		echo "installing libxgboost-dev (XGBoost C API)"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxgboost-dev >/dev/null; \
	fi

build: deps
	$(GO) build -o $(BIN) ./cmd/churn

# churn-beam, the Apache Beam module (beam/, its own go.mod): churn
# features and churn predict as Beam pipelines. Its first build fetches and
# compiles the Beam Go SDK (~500 modules), hence its own targets.
# It is built without cgo (a static binary: scoring is pure Go, D13), so it
# is also the worker binary runners ship (--worker_binary).
BEAM_BIN := bin/churn-beam
beam:
	cd beam && CGO_ENABLED=0 $(GO) build -o ../$(BEAM_BIN) ./cmd/churn-beam

# The churn container image (Dockerfile: churn on Debian bookworm slim with
# libxgboost0, uid 10001, churn as the entrypoint; docs/scheduling.md),
# built with docker, else podman; skipped with a message where neither
# engine runs. Prints the image size.
IMAGE ?= churn:dev
IMAGE_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)
image:
	@if docker info >/dev/null 2>&1; then engine=docker; \
	elif podman info >/dev/null 2>&1; then engine=podman; \
	else echo "make image: no container engine (docker or podman) is running here; skipped"; exit 0; fi; \
	echo "$$engine build -t $(IMAGE) --build-arg VERSION=$(IMAGE_VERSION) ."; \
	$$engine build -t $(IMAGE) --build-arg VERSION=$(IMAGE_VERSION) . || exit 1; \
	size=$$($$engine image inspect -f '{{.Size}}' $(IMAGE)) || exit 1; \
	echo "$(IMAGE): $$size bytes ($$((size / 1000000)) MB uncompressed)"

# The Beam module's tests: churn-beam features and predict on the prism
# runner (loopback workers in the test process) against churn's own output
# on 20,000 generated customers. Run by .ci/run after make test.
test-beam: deps
	cd beam && $(GO) vet ./... && $(GO) test -count=1 -timeout 40m ./...

# PostgreSQL's server (Debian's postgresql package) for the tests of the
# database sink (predict/pgsink, cmd/testdata/postgres): each test package
# starts a throwaway cluster of its own (internal/pgtest). Installed only
# when missing.
postgres:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "installing postgresql (the database sink's tests start their own server)"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

# DuckDB for the end-to-end checks that other engines read our Parquet.
duckdb: $(DUCKDB)
$(DUCKDB):
	@command -v npm >/dev/null || { echo "npm is needed for the DuckDB checks: apt-get install nodejs npm"; exit 1; }
	mkdir -p $(NODE_DIR)
	cd $(NODE_DIR) && ( [ -f package.json ] || echo '{"private":true}' > package.json ) && npm install --silent --no-audit --no-fund @duckdb/node-api@1.5.6-r.1

# Headless Chromium (Debian package) and the playwright-core driver, for
# the test that renders the evaluation report (eval/browser_test.go).
browser: $(PLAYWRIGHT)
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing chromium (headless report rendering test)"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
$(PLAYWRIGHT):
	@command -v npm >/dev/null || { echo "npm is needed for the report rendering test: apt-get install nodejs npm"; exit 1; }
	mkdir -p $(NODE_DIR)
	cd $(NODE_DIR) && ( [ -f package.json ] || echo '{"private":true}' > package.json ) && npm install --silent --no-audit --no-fund playwright-core@1.65.1

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Unit, golden, fuzz-seed and end-to-end CLI tests; -race where goroutines run.
test: deps duckdb browser postgres lint
	CHURN_DUCKDB_DIR=$(CURDIR)/$(NODE_DIR) CHURN_REQUIRE_POSTGRES=1 $(GO) test -race -count=1 -timeout 20m ./...

# The nightly job on built-in demo data: generate two years of histories
# for 3,000 customers with a simulated retention loop (plays, control groups
# and their planted effects: the review section), run the job as of
# 2024-12-01 (examples/demo.yaml), print where everything is and the
# riskiest customers.
DEMO_AS_OF ?= 2024-12-01
demo: build
	@rm -rf $(DEMO_DIR)
	./$(BIN) generate --customers 3000 --months 24 --seed 7 --interventions --out $(DEMO_DIR)/data
	./$(BIN) run --config examples/demo.yaml --as-of $(DEMO_AS_OF)

# The e-commerce demo: a shop without subscriptions (customers and orders;
# nobody cancels, customers stop buying) with 5,000 customers over two years
# and a planted purchase-rate decline before dropout. The nightly job labels
# inactivity (examples/ecommerce.yaml, which reads demo-ecommerce/); churn
# lifetime fits BG/NBD and Gamma-Gamma on the orders before the as-of date.
DEMO_ECOMMERCE_DIR := demo-ecommerce
demo-ecommerce: build
	@rm -rf $(DEMO_ECOMMERCE_DIR)
	./$(BIN) generate --business ecommerce --customers 5000 --months 24 --seed 3 --out $(DEMO_ECOMMERCE_DIR)/data
	./$(BIN) run --config examples/ecommerce.yaml --as-of $(DEMO_AS_OF)
	./$(BIN) lifetime --data $(DEMO_ECOMMERCE_DIR)/data --as-of $(DEMO_AS_OF) --out $(DEMO_ECOMMERCE_DIR)/lifetime

# Heavier checks: end-to-end runs on the real data sets and large inputs.
e2e: build duckdb
	CHURN_DUCKDB_DIR=$(CURDIR)/$(NODE_DIR) CHURN_E2E=1 $(GO) test -count=1 -timeout 60m -run 'E2E' ./...

# Benchmarks against peers measured in the same run (see bench/README.md).
bench: build duckdb postgres
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...
	./bench/run.sh

# churn-beam on prism against churn on one machine (bench/beam.sh).
bench-beam: build beam
	./bench/beam.sh

# A short run of every fuzz target.
FUZZTIME ?= 20s
fuzz: deps
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

clean:
	rm -rf bin $(DEMO_DIR) $(DEMO_ECOMMERCE_DIR) .cache

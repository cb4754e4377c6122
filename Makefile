# redoubt — the two commands a new machine needs: `make demo` and `make test`.
GO        ?= go
PKGS      := ./...
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME  ?= 5s
BIN       := bin/redoubt

.PHONY: all build test unit e2e vet staticcheck fuzz demo bench deps bench-deps clean image ops-test

all: build

build:
	$(GO) build -o $(BIN) ./cmd/redoubt

# deps installs what tests need when it is missing (Debian: apt-get, npm).
# Each concern has its own script in scripts/deps.d/, run in name order.
deps:
	@set -e; for f in scripts/deps.d/[0-9]*.sh; do bash "$$f"; done

# image comes before unit: build/imagebuild's test compiles the static
# binary with the same flags, so it finds the packages compiled already.
test: deps vet staticcheck image unit fuzz bench-build

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) run $(STATICCHECK) $(PKGS)

unit:
	$(GO) test -race -count=1 -timeout 12m $(PKGS)

e2e:
	$(GO) test -race -count=1 -timeout 10m ./test/e2e/...

# fuzz runs every fuzz target briefly on top of its checked-in corpus
# (scripts/fuzz.sh says how a harness time-out is told from a finding).
fuzz:
	@bash scripts/fuzz.sh $(FUZZTIME) $$($(GO) list -f '{{if .TestGoFiles}}{{.Dir}}{{end}}' $(PKGS))

# bench-build compiles the benchmark harness so it cannot rot; make bench runs it.
bench-build:
	$(GO) build -o /dev/null ./bench/...
	$(GO) test -run '^$$' -bench . -benchtime 1x ./internal/resp/ ./internal/proxy/ ./internal/limit/ >/dev/null

bench: build
	$(GO) run ./bench/cmd/benchrun -redoubt $(BIN)

demo: deps build
	./scripts/demo.sh

# image packs a static binary into an OCI image archive (no container
# daemon): bin/redoubt-image.tar, loadable with `podman load` or
# `skopeo copy oci-archive:...`. Same commit, same bytes.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION  ?= $(shell git rev-parse HEAD 2>/dev/null)
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
image:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X github.com/redoubt-proxy/redoubt/internal/cli.Version=$(VERSION)" -o bin/redoubt-static ./cmd/redoubt
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run ./build/imagebuild -binary bin/redoubt-static -version $(VERSION) -revision "$(REVISION)" -arch $$($(GO) env GOARCH) -out bin/redoubt-image.tar

# ops-test runs only the operating kit's checks (all are part of make test):
# image, manifests, promtool, the audit log, the probes and metrics, the
# Chromium test of /ui/, and the dashboard's metric names.
ops-test:
	$(GO) test -count=1 ./build/... ./deploy/... ./internal/admin/ ./internal/adminui/ ./internal/audit/
	$(GO) test -count=1 -run 'TestDashboardAndAlertMetricsExist|TestAuditFile' ./test/e2e/

clean:
	rm -rf bin

# redoubt — the two commands a new machine needs: `make demo` and `make test`.
GO        ?= go
PKGS      := ./...
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME  ?= 5s
BIN       := bin/redoubt

.PHONY: all build test unit e2e vet staticcheck fuzz demo bench deps bench-deps clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/redoubt

# deps installs what tests need when it is missing (Debian: apt-get, npm).
# Each concern has its own script in scripts/deps.d/, run in name order.
deps:
	@set -e; for f in scripts/deps.d/[0-9]*.sh; do bash "$$f"; done

test: deps vet staticcheck unit fuzz bench-build

vet:
	$(GO) vet $(PKGS)

staticcheck:
	$(GO) run $(STATICCHECK) $(PKGS)

unit:
	$(GO) test -race -count=1 -timeout 12m $(PKGS)

e2e:
	$(GO) test -race -count=1 -timeout 10m ./test/e2e/...

# fuzz runs every fuzz target briefly on top of its checked-in corpus.
# -fuzzminimizetime bounds how long a worker shrinks each new interesting
# input: with Go's default (60 s) workers sat minimizing for the last
# seconds of a 5 s run, and the run sometimes failed with "context
# deadline exceeded" when the time ran out mid-minimization.
fuzz:
	@set -e; for pkg in $$($(GO) list -f '{{if .TestGoFiles}}{{.Dir}}{{end}}' $(PKGS)); do \
		for t in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$pkg/*_test.go 2>/dev/null | sed 's/func //'); do \
			echo "fuzz $$t in $$pkg ($(FUZZTIME))"; \
			(cd $$pkg && $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 100x .) || exit 1; \
		done; \
	done

# bench-build compiles the benchmark harness so it cannot rot; make bench runs it.
bench-build:
	$(GO) build -o /dev/null ./bench/...
	$(GO) test -run '^$$' -bench . -benchtime 1x ./internal/resp/ ./internal/proxy/ ./internal/limit/ >/dev/null

bench: build
	$(GO) run ./bench/cmd/benchrun -redoubt $(BIN)

demo: deps build
	./scripts/demo.sh

clean:
	rm -rf bin

# penhub — see README.md. `make help` lists the targets.
GO      ?= go
BIN     := bin/penhub
PKGS    := ./...
# `make fuzz` runs every fuzz target (scripts/fuzz.sh) for FUZZTIME.
FUZZTIME ?= 60s

.PHONY: help build run test test-short fuzz fuzz-short bench chaos vet clean

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build the static penhub binary into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/penhub

run: build ## start the 3-node dev cluster (penhub dev) in the foreground until Ctrl-C
	./$(BIN) dev

vet: ## go vet and gofmt check
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)

test: vet build ## vet, then every test with the race detector, plus a short fuzz pass
	@./scripts/test-deps.sh
	$(GO) test -race -timeout 25m $(PKGS)
	$(MAKE) fuzz-short

fuzz-short: ## run every fuzz target for 10 s
	@./scripts/fuzz.sh 10s

fuzz: ## run every fuzz target for FUZZTIME (default 60s)
	@./scripts/fuzz.sh $(FUZZTIME)

bench: build ## package benchmarks, then penhub bench (SPEC §8; BENCHFLAGS="--notices 100000" for the full run)
	$(GO) test -run '^$$' -bench . -benchtime 1s ./crypto ./consensus/ledger ./node/feed ./node/tokens ./schema
	./$(BIN) bench $(BENCHFLAGS)

chaos: build ## long failure tests (kill -9, partitions) against real processes and containers
	PENHUB_LONG=1 $(GO) test -race -timeout 60m -run 'Nemesis|Chaos|Long|Docker|Partition' -v $(PKGS)

clean: ## remove build output
	rm -rf bin

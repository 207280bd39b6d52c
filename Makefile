# skyplan — see README.md. Every target installs what it needs.
GO        ?= go
BIN       := bin/skyplan
PKGS      := ./...
# Tests run in parallel packages but each package's emulators are its own.
TESTFLAGS ?= -count=1 -timeout 30m

.PHONY: all build test test-short lint demo demo-aws deps tools bench fuzz clean realk8s crash

all: build

build:
	$(GO) build -o $(BIN) ./cmd/skyplan

# deps makes sure the local emulators the tests and the demo need are present.
# moto_server (AWS) ships with these machines via pip; the GCP and Kubernetes
# emulators are Go code in this repo (fake-gcs-server, internal/gcpfake,
# internal/k8sfake), so `go` fetches them.
deps:
	@$(GO) mod download
	@command -v moto_server >/dev/null 2>&1 || python3 -m pip install --quiet 'moto[server]' || \
	  { echo "moto_server is missing and could not be installed: pip install 'moto[server]'"; exit 1; }
	@# jq runs the budget check docs/plan-json.md shows, in the CLI tests.
	@command -v jq >/dev/null 2>&1 || apt-get install -y -qq jq >/dev/null 2>&1 || \
	  { apt-get update -qq && apt-get install -y -qq jq; } || \
	  { echo "jq is missing and could not be installed: apt-get install jq"; exit 1; }

test: deps realk8s
	$(GO) vet $(PKGS)
	$(GO) test $(TESTFLAGS) $(PKGS)
	# The concurrent core again under the race detector.
	$(GO) test -race $(TESTFLAGS) ./executor/... ./planner/... ./spec/...

# realk8s builds a real kube-apiserver and etcd from the module proxy (their own
# nested modules, which ./... does not descend into) for the Kubernetes
# provider's integration test. Make skips each build while the binary is
# newer than its go.mod.
realk8s: bin/kube-apiserver bin/etcd

bin/kube-apiserver: internal/realk8s/apiserver/go.mod internal/realk8s/apiserver/go.sum internal/realk8s/apiserver/main.go
	cd internal/realk8s/apiserver && $(GO) build -o ../../../bin/kube-apiserver .

bin/etcd: internal/realk8s/etcd/go.mod internal/realk8s/etcd/go.sum internal/realk8s/etcd/main.go
	cd internal/realk8s/etcd && $(GO) build -o ../../../bin/etcd .

test-short:
	$(GO) test -short -count=1 $(PKGS)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

# demo: lint → plan → apply → plan (no changes) → destroy on examples/quickstart
# (AWS on moto_server), then the GCP and Kubernetes examples on the in-repo fakes.
demo: deps build
	./internal/demo/run.sh

# bench: the Go micro-benchmarks, then the harness in bench/: bin/skyplan
# against moto_server through a call-counting, latency-adding proxy; it
# prints a table and rewrites docs/PERFORMANCE.md. `go run ./bench -quick`
# is a smoke run.
bench: deps build
	$(GO) test -run '^$$' -bench . -benchmem ./spec/... ./planner/... ./providers/...
	$(GO) run ./bench -skyplan $(BIN) -out docs/PERFORMANCE.md

fuzz:
	$(GO) test ./spec -run '^$$' -fuzz FuzzLoad -fuzztime 60s

# crash: the crash and fault harness with every seed, printing per-seed
# figures (make test runs a few seeds, and all of them under CI=true).
crash: deps
	$(GO) test -count=1 -v ./internal/crashtest -long

clean:
	rm -rf bin

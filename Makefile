# appforge: `make dev` runs everything locally, `make test` runs every test.
# Both install what is missing first: the pinned Temporal CLI (built once into .tools/)
# and the app template's npm dependencies (installed once into the dependency cache).

SHELL := /bin/bash
GO ?= go
TEMPORAL_CLI_VERSION := v1.5.1
TOOLS := $(CURDIR)/.tools
TEMPORAL := $(TOOLS)/bin/temporal
BIN := $(CURDIR)/bin/appforge

export APPFORGE_TEMPORAL_CLI ?= $(TEMPORAL)
# Tests share one dependency cache so npm installs the template's packages once per machine.
export APPFORGE_TEST_DEPS_DIR ?= $(TOOLS)/deps

PLAYWRIGHT_VERSION := 1.64.1
PLAYWRIGHT := $(TOOLS)/browser/node_modules/playwright-core/package.json

.PHONY: dev test bench tools deps build check-node browser vet fmt clean

dev: tools check-node build ## run everything on embedded defaults (Ctrl-C stops it)
	@$(BIN) deps
	@exec $(BIN) dev

build:
	@$(GO) build -o $(BIN) ./cmd/appforge

tools: $(TEMPORAL)

$(TEMPORAL):
	@echo "appforge: building the Temporal CLI $(TEMPORAL_CLI_VERSION) into .tools/ (once; a few minutes)"
	@mkdir -p $(TOOLS)/bin
	GOBIN=$(TOOLS)/bin $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

check-node:
	@command -v node >/dev/null || { echo "appforge: Node.js 20 or newer is required (node not found)"; exit 1; }
	@command -v npm >/dev/null || { echo "appforge: npm is required (npm not found)"; exit 1; }
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' || { echo "appforge: Node.js 20 or newer is required (found $$(node --version))"; exit 1; }

deps: build ## install the template's npm dependencies into the cache
	@$(BIN) deps

browser: $(PLAYWRIGHT) ## Debian's chromium and playwright-core, for the browser tests
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "appforge: installing Debian's chromium for the browser tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null \
	      || { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null; }; \
	  else echo "appforge: chromium is not installed and cannot be installed here (needs root and apt-get); the browser tests will be skipped"; fi; }

$(PLAYWRIGHT):
	@mkdir -p $(TOOLS)/browser
	@cd $(TOOLS)/browser && npm install --no-audit --no-fund --silent playwright-core@$(PLAYWRIGHT_VERSION)

test: tools check-node browser ## every test: unit, workflow, store (SQLite and Postgres), edge, end to end
	$(GO) vet ./...
	@unformatted="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*'))"; \
	  test -z "$$unformatted" || { echo "gofmt needed:"; echo "$$unformatted"; exit 1; }
	$(GO) test -count=1 -timeout 40m ./...

bench: tools check-node ## request-to-live-preview through the real stack, offline and with the scripted LLM
	$(GO) run ./bench -n 10
	$(GO) run ./bench -n 5 -llm
	$(GO) run ./build/cmd/buildbench

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin

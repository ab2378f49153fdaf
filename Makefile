# vm-orchestrator: `make start` runs the product, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

NODE_DEPS := node_modules/.package-lock.json
PROTOCOL := packages/protocol/dist/index.js
SERVER := server/dist/vm-orchestrator.js
WEB := web/build/index.html
ARGS ?=

# One line per build step on the terminal; the step's full output goes to the file it names.
step = @mkdir -p .make; printf '  %-26s' '$(1)…'; \
  if { $(3); } >.make/$(2).log 2>&1; then echo "ok   (log: .make/$(2).log)"; \
  else echo "FAILED (log: .make/$(2).log)"; tail -n 40 .make/$(2).log; exit 1; fi

protocol_src := $(shell find packages/protocol/src -name '*.ts' 2>/dev/null) packages/protocol/tsconfig.json
server_src := $(shell find server/src -name '*.ts' -not -name '*.test.ts' 2>/dev/null) server/tsconfig.build.json
web_src := $(shell find web/src web/static -type f 2>/dev/null) web/svelte.config.js web/vite.config.ts

.PHONY: help start setup dev stop clean test lint typecheck validate bench system-deps format image

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 12

start: $(SERVER) $(WEB) ## Serve the product on http://127.0.0.1:3000 (embedded Postgres under ./data)
	@exec node bin/vm-orchestrator.js $(ARGS)

setup: system-deps $(NODE_DEPS) $(SERVER) $(WEB) ## Install dependencies (npm and system) and build

# npm ci only when the lock file or a package.json changed since the last install.
$(NODE_DEPS): package-lock.json package.json packages/protocol/package.json server/package.json web/package.json
	$(call step,installing npm packages,npm-ci,npm ci)
	@touch $@

$(PROTOCOL): $(NODE_DEPS) $(protocol_src)
	$(call step,building the protocol,protocol,npm run build -w @vmo/protocol)
	@touch $@

$(SERVER): $(PROTOCOL) $(server_src)
	$(call step,building the server,server,npm run build -w @vmo/server)
	@touch $@

$(WEB): $(PROTOCOL) $(web_src)
	$(call step,building the web app,web,npm run build -w @vmo/web)
	@touch $@

dev: $(PROTOCOL) ## Server with reload on :3000 and Vite on :5173 (proxying /api and /socket.io)
	@mkdir -p .make
	@trap 'kill 0' INT TERM EXIT; \
	  npm run dev -w @vmo/server -- $(ARGS) & echo $$! > .make/dev-server.pid; \
	  npm run dev -w @vmo/web & echo $$! > .make/dev-web.pid; \
	  wait

stop: ## Stop what `make start` or `make dev` started in the background
	@for f in .make/dev-server.pid .make/dev-web.pid data/vmo.pid; do \
	  [ -f $$f ] || continue; pid=$$(cat $$f); \
	  if kill -0 $$pid 2>/dev/null; then kill -TERM -- -$$pid 2>/dev/null || kill -TERM $$pid; echo "stopped $$pid ($$f)"; fi; \
	  rm -f $$f; \
	done

clean: ## Remove build output, coverage and test results (keeps ./data and node_modules)
	rm -rf packages/protocol/dist server/dist web/build web/.svelte-kit server/coverage server/test-results .make

system-deps: ## Install the system packages tests need (openssh-server, chromium, podman…) when root
	@scripts/ensure-system-deps.sh

image: ## Build the container image vm-orchestrator:latest (Docker, or podman when there is no docker; docs/DEPLOY.md)
	$$(command -v docker || command -v podman) build --build-arg VMO_UID=$$(id -u) -t vm-orchestrator:latest .

lint: $(NODE_DEPS) ## Prettier check, ESLint, and the server's layers (no import circles; .dependency-cruiser.cjs)
	npx prettier --check .
	npx eslint .
	npx depcruise server/src packages/protocol/src --config .dependency-cruiser.cjs --output-type err

format: $(NODE_DEPS) ## Format everything with Prettier
	npx prettier --write .

typecheck: $(PROTOCOL) ## tsc for server and protocol, svelte-check for the web app
	npx tsc -p server --noEmit
	npm run check -w @vmo/web

test: system-deps $(NODE_DEPS) $(SERVER) $(WEB) lint typecheck ## Every test: unit, Postgres, sshd, Chromium (coverage enforced)
	npm test

bench: $(SERVER) ## Benchmarks under bench/, printing figures
	node bench/run.js

validate: test ## Lint, typecheck, tests and a benchmark smoke run
	node bench/run.js --smoke

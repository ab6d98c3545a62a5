# Two commands do everything on a fresh machine: `make up` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.9

.PHONY: install up test test-reverse lint typecheck pytest docs bench bench-national soak fuzz mutate clean
ASYNCAPI := tools/asyncapi/node_modules/.bin/asyncapi

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Installs exactly the locked set (uv.lock), including the dev tools and the embedded servers.
install: $(BIN)/uv
	$(BIN)/uv sync --locked --quiet

# `make up UP=--traces` also writes every service's spans to .antq-data/traces/<service>.jsonl.
up: install
	$(BIN)/python -m deploy.embedded $(UP)

# The official AsyncAPI CLI (pinned in tools/asyncapi/package-lock.json): the tests validate every
# committed AsyncAPI document with it.
$(ASYNCAPI): tools/asyncapi/package-lock.json
	npm ci --prefix tools/asyncapi --no-audit --no-fund --loglevel=error
	touch $(ASYNCAPI)

# A real browser for the season board's test: Debian's Chromium and its driver (as root, from apt).
BROWSER := /usr/bin/chromedriver
$(BROWSER):
	@if [ "$$(id -u)" = 0 ]; then \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null 2>&1 || \
	   (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	     chromium chromium-driver >/dev/null)); \
	else echo "chromium-driver is missing: run 'sudo apt-get install chromium chromium-driver' (the board's browser test needs it)"; exit 1; fi

# Prometheus's own rule checker for the alert rules' test: Debian's prometheus package (as root, from apt).
PROMTOOL := /usr/bin/promtool
$(PROMTOOL):
	@if [ "$$(id -u)" = 0 ]; then \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null 2>&1 || \
	   (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	     prometheus >/dev/null)); \
	else echo "promtool is missing: run 'sudo apt-get install prometheus' (the alert rules' test needs it)"; exit 1; fi

# A TrueType font with Vietnamese letters for the certificates' PDF: Debian's DejaVu (as root, from apt).
FONT := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
$(FONT):
	@if [ "$$(id -u)" = 0 ]; then \
	  (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-dejavu-core >/dev/null 2>&1 || \
	   (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	     fonts-dejavu-core >/dev/null)); \
	else echo "the DejaVu font is missing: run 'sudo apt-get install fonts-dejavu-core' (certificates' PDF needs it)"; exit 1; fi

test: install $(ASYNCAPI) $(BROWSER) $(PROMTOOL) $(FONT) lint typecheck pytest

lint:
	$(BIN)/ruff check shared services deploy tests bench data examples
	$(BIN)/ruff format --check shared services deploy tests bench data examples

typecheck:
	$(BIN)/mypy

pytest:
	$(BIN)/pytest -q -p no:cacheprovider

# The same suite with its files in reverse order: no test may depend on another file running first.
test-reverse: install $(ASYNCAPI) $(BROWSER) $(PROMTOOL) $(FONT)
	ANTQ_TEST_ORDER=reverse $(BIN)/pytest -q -p no:cacheprovider

docs: install
	$(BIN)/python -m shared.runtime.docs

bench: install
	$(BIN)/python -m bench

# A season replayed at the event level through awards, notifications and reporting at three sizes
# (units; default 10000 30000 100000: tens of minutes on 2 cores), with the fitted exponents.
bench-national: install
	$(BIN)/python -m bench.national $(SIZES)

# The whole platform (make up's stack) under seasons of simulated load for SOAK_MINUTES (default 30),
# with kills; prints RSS and consumer lag every minute and fails when either keeps growing.
soak: install
	$(BIN)/python -m bench.soak

# Mutation testing (mutmut) of the rules of every service: registry, awards, reporting, notifications; prints each score.
mutate: install
	$(BIN)/python -m tests.mutate

# More inputs than CI draws (ANTQ_FUZZ_EXAMPLES per subject); prints tried / refused / internal.
fuzz: install
	ANTQ_FUZZ_EXAMPLES=$${ANTQ_FUZZ_EXAMPLES:-300} $(BIN)/pytest -q -p no:cacheprovider --timeout=3600 -p no:logging tests/fuzz

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache mutants tools/asyncapi/node_modules

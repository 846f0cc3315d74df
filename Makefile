# presso-metrics: set-up, demo, tests. Every target builds .venv from nothing when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | cksum | cut -d' ' -f1)

.PHONY: venv demo test test-fast lint format bench chaos browser screenshot loadtest-chart vendor clean lock

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)
	$(BIN)/presso-metrics demo --db presso-metrics.db

## Everything: unit, integration, end-to-end, AWS on moto, browser (installs Chromium if missing).
test: $(STAMP) browser
	$(BIN)/python -m pytest -q

## Without the browser and the slowest tests.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not browser and not chaos"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: $(STAMP)
	$(BIN)/python -m bench

chaos: $(STAMP)
	PRESSO_CHAOS=long $(BIN)/python -m pytest -q -m chaos tests

## Headless Chromium for the dashboard test (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }
	@chromium --version

## The README's dashboard screenshot (docs/dashboard.png), from a two-week demo.
screenshot: $(STAMP) browser
	$(BIN)/python docs/screenshot.py

## The README's load-test chart (docs/loadtest.png), from a fresh embedded run.
loadtest-chart: $(STAMP) browser
	$(BIN)/python docs/loadtest_screenshot.py

## Refresh the vendored Chart.js and Swagger UI (served by the process itself: no CDN).
CHARTJS := 4.6.1
SWAGGER_UI := 5.32.0
VENDOR := src/presso_metrics/entrypoints/static/vendor
vendor:
	rm -rf /tmp/presso-vendor && mkdir -p /tmp/presso-vendor
	cd /tmp/presso-vendor && npm pack --silent chart.js@$(CHARTJS) swagger-ui-dist@$(SWAGGER_UI)
	cd /tmp/presso-vendor && tar xzf chart.js-$(CHARTJS).tgz && mv package chartjs
	cd /tmp/presso-vendor && tar xzf swagger-ui-dist-$(SWAGGER_UI).tgz && mv package swagger
	cp /tmp/presso-vendor/chartjs/dist/chart.umd.min.js $(VENDOR)/
	cp /tmp/presso-vendor/chartjs/LICENSE.md $(VENDOR)/chart.js-LICENSE.md
	mkdir -p $(VENDOR)/swagger
	cd /tmp/presso-vendor/swagger && cp swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt \
	  swagger-ui.css favicon-32x32.png $(CURDIR)/$(VENDOR)/swagger/
	cp /tmp/presso-vendor/swagger/LICENSE $(VENDOR)/swagger/swagger-ui-LICENSE

## Re-pin every transitive dependency (run after changing pyproject.toml).
lock:
	rm -rf /tmp/presso-lock && $(PYTHON) -m venv /tmp/presso-lock
	/tmp/presso-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/presso-lock/bin/pip freeze --exclude-editable | grep -v '^presso-metrics' > constraints.txt

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

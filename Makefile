# The project's vocabulary: make dev | test | lint | bench | build | deploy
SHELL := /bin/bash
PORT ?= 3000
VENV := .venv
# Python 3.13, the Lambda runtime: through pyenv where it has one (its shims can loop), else on PATH.
PYTHON313 := $(shell p=$$(pyenv prefix 3.13.0 2>/dev/null || pyenv prefix 3.13 2>/dev/null) && [ -x "$$p/bin/python3.13" ] && echo "$$p/bin/python3.13" || command -v python3.13 2>/dev/null)
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(dir $(PYTHON313)):$(PATH)

.PHONY: dev test unit integration e2e browser lint bench build validate deploy clean venv

$(VENV)/.installed: requirements-dev.txt layers/shared/requirements.txt
	@if [ -z "$(PYTHON313)" ] || ! "$(PYTHON313)" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then \
	  echo "error: Python 3.13 (the Lambda runtime) was not found: install it, or put python3.13 on PATH (pyenv install 3.13)" >&2; exit 1; fi
	"$(PYTHON313)" -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

dev: venv  ## the whole product on the local stack (moto): http://127.0.0.1:$(PORT)
	PORT=$(PORT) $(PY) -m infra.local

# Every tier at once, a file per worker (pytest-xdist, --dist loadfile: a file's tests keep their order and share
# their module's fixtures): the browser and e2e tiers mostly wait on their local stacks, so three workers on two
# cores take ~14 minutes where one took ~33. WORKERS=0 runs them one after the other (easier to read a failure).
WORKERS ?= 3
test: venv  ## every test tier (WORKERS=3 in parallel; WORKERS=0 one at a time)
	$(PY) -m pytest $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadfile)

unit: venv  ## fakes, no network; and the template's invariants
	$(PY) -m pytest tests/unit tests/template

integration: venv  ## moto, with the resources template.yaml declares
	$(PY) -m pytest tests/integration

e2e: venv  ## the local stack over HTTP
	$(PY) -m pytest tests/e2e

browser: venv  ## the frontend in Chromium (Debian's /usr/bin/chromium; skipped without it)
	$(PY) -m pytest tests/browser

lint: venv  ## ruff, mypy (pydantic plugin; pyproject.toml [tool.mypy]), cfn-lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml

validate: venv  ## cfn-lint, then SAM's own transform and lint (offline; a region is only needed to name one)
	$(VENV)/bin/cfn-lint template.yaml
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} SAM_CLI_TELEMETRY=$${SAM_CLI_TELEMETRY:-0} $(VENV)/bin/sam validate --lint

build: venv  ## sam build without Docker: the layer's arm64 wheels come from PyPI (python3.13 from PATH)
	SAM_CLI_TELEMETRY=$${SAM_CLI_TELEMETRY:-0} $(VENV)/bin/sam build

bench: venv
	$(PY) -m bench

deploy: build  ## make deploy ENV=dev|prod (samconfig.toml); secrets first: infra/scripts/put-secrets.py --stage ENV
	SAM_CLI_TELEMETRY=$${SAM_CLI_TELEMETRY:-0} $(VENV)/bin/sam deploy --config-env $(or $(ENV),dev)

clean:
	rm -rf .aws-sam $(VENV)

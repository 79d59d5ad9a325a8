# The entry point for everything: `make run` and `make test` install what they need themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Python 3.13, the Lambda runtime, wherever it is: on PATH, under pyenv, or given as PYTHON313=...
PYTHON313 ?= $(shell for c in python3.13 $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 2>/dev/null | sort -V | tail -n 1) /usr/local/bin/python3.13 /usr/bin/python3.13; do \
  if "$$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' >/dev/null 2>&1; then \
    "$$c" -c 'import sys; print(sys.executable)'; break; fi; done)

VENV := .venv
PY := $(VENV)/bin/python
# aws-sam-cli and cfn-lint pin boto3, click and pydantic versions that clash with the runtime's,
# so they live in an environment of their own, never in $(VENV).
TOOLS := .tools
SAM_CLI_VERSION := 1.170.0
CFN_LINT_VERSION := 1.58.0
SAM := $(TOOLS)/sam/bin/sam
CFN_LINT := $(TOOLS)/sam/bin/cfn-lint
# checkov pins an old boto3: its own environment too, with bandit and pip-audit beside it.
CHECKOV_VERSION := 3.3.30
BANDIT_VERSION := 1.9.4
PIP_AUDIT_VERSION := 2.10.1
SECURITY := $(TOOLS)/security/bin
SCHEMATHESIS_VERSION := 4.32.5
# Swagger UI for the local API explorer, from the npm registry when npm is there (else the page
# loads it from a CDN); never part of the deployed function.
SWAGGER_UI_VERSION := 5.35.0
SWAGGER_UI := $(if $(shell command -v npm 2>/dev/null),$(TOOLS)/swagger-ui/.installed)
# The IAM policy engine of the access tests (tests/iam/): @cloud-copilot/iam-simulate from the npm
# registry, every dependency pinned by tests/iam/package-lock.json. A test tool under the AGPL, never
# shipped with the functions. Needs node and npm (make test fails without them: REQUIRE_TOOLS=1).
IAM_SIMULATE := $(TOOLS)/iam-simulate/.installed
export BC_SKIP_MAPPING := TRUE

.PHONY: help install tools run node scan test test-sam-local lint validate security build openapi bench clean check-python

# `make sam-runtime`: podman, qemu and a stand-in Lambda image for `sam local` on a host without
# Docker (localapi/sam-runtime/README.md); it also exports DOCKER_HOST to SAM and the tests.
include localapi/sam-runtime/sam-runtime.mk

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

# Found or given, PYTHON313 must run and be CPython 3.13: a venv of another version builds, then
# fails later or, worse, passes tests the Lambda runtime would not. Only where a venv is built.
define need_python313
	@py='$(PYTHON313)'; need="e.g. 'pyenv install 3.13', or make PYTHON313=/path/to/python3.13"; \
	if [ -z "$$py" ]; then echo "Python 3.13 (the Lambda runtime) is needed: $$need" >&2; exit 1; fi; \
	is=$$("$$py" -c 'import platform, sys; sys.stdout.write("%s %d.%d" % (platform.python_implementation(), sys.version_info[0], sys.version_info[1]))' 2>/dev/null); \
	if [ -z "$$is" ]; then echo "PYTHON313=$$py does not run as a Python, and Python 3.13 (the Lambda runtime) is needed: $$need" >&2; exit 1; fi; \
	if [ "$$is" != "CPython 3.13" ]; then echo "PYTHON313=$$py is $${is/#CPython /Python }, not 3.13 (the Lambda runtime): $$need" >&2; exit 1; fi
endef

check-python: ## Check that PYTHON313 (found, or given) is CPython 3.13, as every venv target does
	$(need_python313)
	@echo "PYTHON313=$(PYTHON313) is Python 3.13"

# uv installs every environment: the same pins in seconds where pip took minutes (pip's installs
# were 2.5 of the 11 minutes a fresh clone's `make test` took; for the tool environments' unpinned
# dependencies uv chose here exactly what pip chose). It is itself installed by pip, pinned, into a
# folder named by its version. uv reads its own settings, not pip's
# (https://docs.astral.sh/uv/pip/compatibility/): the index pip is set to use (PIP_INDEX_URL, or
# global.index-url in pip.conf, as the pip that installed uv reads it) is handed on to it as
# UV_DEFAULT_INDEX. pip's other settings are not: give uv its own (UV_INDEX, SSL_CERT_FILE, ...).
UV_VERSION := 0.13.9
UV := $(TOOLS)/uv-$(UV_VERSION)/bin/uv
# $(call uv_install,ENVIRONMENT) OPTIONS...
uv_install = UV_DEFAULT_INDEX="$${UV_DEFAULT_INDEX:-$${PIP_INDEX_URL:-$$($(TOOLS)/uv-$(UV_VERSION)/bin/python -m pip config get global.index-url 2>/dev/null)}}" \
	  $(UV) pip install --quiet --python $(1)/bin/python

$(UV):
	$(need_python313)
	$(PYTHON313) -m venv $(TOOLS)/uv-$(UV_VERSION)
	$(TOOLS)/uv-$(UV_VERSION)/bin/python -m pip install --quiet uv==$(UV_VERSION)

# .venv keeps pip (sam build and the bench run the venv's python, and pip with it). Its bytecode is
# compiled at install, as pip does: where PYTHONDONTWRITEBYTECODE=1 is set (as on Lambda, and on
# the CI hosts) no process caches it, and every test process imports boto3, moto and Powertools.
$(VENV)/.installed: requirements-dev.txt layers/dependencies/requirements.txt pyproject.toml edgeclient/pyproject.toml | $(UV)
	$(need_python313)
	$(PYTHON313) -m venv $(VENV)
	$(call uv_install,$(VENV)) --compile-bytecode -r requirements-dev.txt
	$(PY) -c 'import pathlib, site; pathlib.Path(site.getsitepackages()[0], "edge-job-report.pth").write_text("$(CURDIR)/functions\n$(CURDIR)\n")'
	$(call uv_install,$(VENV)) --no-deps --editable ./edgeclient  # the `edgeclient` command, from this tree
	touch $@

# SAM runs several times in a test run: its bytecode is compiled at install.
$(TOOLS)/sam/.installed: Makefile | $(UV)
	$(need_python313)
	$(PYTHON313) -m venv --without-pip $(TOOLS)/sam
	$(call uv_install,$(TOOLS)/sam) --compile-bytecode aws-sam-cli==$(SAM_CLI_VERSION) cfn-lint==$(CFN_LINT_VERSION)
	touch $@

# Each of these runs once in a test run, so their bytecode is not compiled at install: compiling
# the security environment took 27 s of CPU, and checkov's one run takes 7 s more without it.
$(TOOLS)/security/.installed: Makefile | $(UV)
	$(need_python313)
	$(PYTHON313) -m venv --without-pip $(TOOLS)/security
	$(call uv_install,$(TOOLS)/security) checkov==$(CHECKOV_VERSION) bandit==$(BANDIT_VERSION) pip-audit==$(PIP_AUDIT_VERSION)
	touch $@

$(TOOLS)/schemathesis/.installed: Makefile | $(UV)
	$(need_python313)
	$(PYTHON313) -m venv --without-pip $(TOOLS)/schemathesis
	$(call uv_install,$(TOOLS)/schemathesis) schemathesis==$(SCHEMATHESIS_VERSION)
	touch $@

$(IAM_SIMULATE): tests/iam/package.json tests/iam/package-lock.json tests/iam/simulate.mjs
	rm -rf $(TOOLS)/iam-simulate && mkdir -p $(TOOLS)/iam-simulate
	cp tests/iam/package.json tests/iam/package-lock.json tests/iam/simulate.mjs $(TOOLS)/iam-simulate/
	npm ci --prefix $(TOOLS)/iam-simulate --ignore-scripts --no-audit --no-fund --silent
	touch $@

$(TOOLS)/swagger-ui/.installed: Makefile
	rm -rf $(TOOLS)/swagger-ui && mkdir -p $(TOOLS)/swagger-ui
	cd $(TOOLS)/swagger-ui && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) > /dev/null && tar -xzf swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz && rm swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz
	touch $@

install: $(VENV)/.installed ## Create .venv with the pinned runtime and development dependencies

# The tool environments are independent: built side by side, each one's output kept together.
TOOL_ENVS := $(TOOLS)/sam/.installed $(TOOLS)/security/.installed $(TOOLS)/schemathesis/.installed $(SWAGGER_UI) $(IAM_SIMULATE)

# uv is made here, before the sub-make, so that `make -j install tools` makes it once.
tools: | $(UV) ## Install SAM CLI, cfn-lint, checkov, bandit, pip-audit, schemathesis, the IAM engine (isolated)
	@$(MAKE) --no-print-directory --jobs=4 --output-sync=target $(TOOL_ENVS)

# make run PORT=3100 DYNAMODB_PORT=8100 ARGS="--parameter SilentAfterMinutes=1"
PORT ?= 3000
DYNAMODB_PORT ?= 8000
ARGS ?=
run: install $(SWAGGER_UI) ## Serve the API on http://127.0.0.1:3000 with DynamoDB (moto) on :8000 (PORT=, DYNAMODB_PORT=, ARGS=)
	$(PY) -m localapi --port $(PORT) --dynamodb-port $(DYNAMODB_PORT) $(ARGS)

# make node STACK=edge-project-P THING=node-001 OUT=~/edge-devices/node-001 [ARGS="--csr node-001.csr"]
node: install ## Register a device of a project with AWS IoT and write its device.json (STACK=, THING=, OUT=; docs/onboarding-node.md)
	@if [ -z "$(STACK)" ] || [ -z "$(THING)" ] || [ -z "$(OUT)" ]; then \
	  echo "make node needs STACK= (the project's stack), THING= (the device's name) and OUT= (a folder outside the repository)" >&2; exit 2; fi
	$(PY) -m onboard node --stack "$(STACK)" --thing "$(THING)" --out "$(OUT)" $(ARGS)

scan: install ## Print what the running `make run` stored, every table as JSON (DYNAMODB_PORT=, ARGS=)
	@$(PY) -m localapi scan --dynamodb-port $(DYNAMODB_PORT) $(ARGS)

# Before the tests, side by side: the venv and the tool environments install, and lint runs once
# the venv is there, while the tools still install (on a fresh clone that is a minute less).
# The run's reliability evidence table is written to $(EVIDENCE) (tests/conftest.py), never committed.
EVIDENCE := .evidence/reliability.md
test: ## Lint, type-check, validate the template and run every test
	@$(MAKE) --no-print-directory --jobs=6 --output-sync=target lint $(TOOL_ENVS)
	SAM_CLI=$(abspath $(SAM)) CFN_LINT=$(abspath $(CFN_LINT)) SECURITY_TOOLS=$(abspath $(SECURITY)) \
	  SCHEMATHESIS=$(abspath $(TOOLS)/schemathesis/bin/schemathesis) \
	  REQUIRE_TOOLS=1 RELIABILITY_EVIDENCE=$(abspath $(EVIDENCE)) $(PY) -m pytest

test-sam-local: install tools ## Only the sam local tests (a container runtime: Docker, or `make sam-runtime`)
	SAM_CLI=$(abspath $(SAM)) REQUIRE_TOOLS=1 $(PY) -m pytest -n 2 tests/infra/test_sam_local_lambda.py tests/infra/test_sam_local_api.py

lint: install ## ruff and mypy only
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

validate: tools ## sam validate --lint and cfn-lint, on template.yaml and project.yaml
	$(SAM) validate --lint --template template.yaml
	$(SAM) validate --lint --template project.yaml
	$(CFN_LINT) template.yaml project.yaml

security: tools ## checkov on both templates, bandit on the functions, pip-audit on the layer pins
	$(SECURITY)/checkov --framework cloudformation --file template.yaml --file project.yaml --compact --quiet
	$(SECURITY)/bandit --quiet --recursive functions
	$(SECURITY)/pip-audit --disable-pip --no-deps --requirement layers/dependencies/requirements.txt --vulnerability-service pypi

build: tools ## sam build (no container): function and layer, arm64, into .aws-sam/
	$(need_python313)
	PATH="$(dir $(PYTHON313)):$$PATH" $(SAM) build --template template.yaml

openapi: install ## Regenerate docs/openapi.json from the code (a test fails when it drifts)
	$(PY) -m devkit.openapi

bench: install ## Cold start, CPU, DynamoDB phases, write units and cost, against floor and canonical design
	$(PY) -m benchmarks

clean: ## Remove the environments and build output
	rm -rf $(VENV) $(TOOLS) .aws-sam .bench .evidence .mypy_cache .ruff_cache .hypothesis

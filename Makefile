# The two commands the README gives:
#   make demo   run the product's main job locally: a whole campaign on the local stack (moto) and the
#               Telnyx simulator, with live progress and an HTML report (no AWS, no Docker)
#   make test   everything CI checks: lint, types, template lint and scan, sam build, all test scopes
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv/bin
TOOLS := .venv-tools/bin
SCAN := .venv-scan/bin
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= us-east-1
# sam build finds python3.12 through pyenv when the default python is another version.
export PYENV_VERSION ?= 3.11.7:3.12.1

.PHONY: help setup lint typecheck template-lint scan console-assets build unit integration e2e test dev demo bench clean openapi config-reference tenant

help:
	@echo "make demo   - a whole compliant campaign on the local stack, live progress, HTML report (DEMO_LEADS=1000)"
	@echo "make dev    - run the local stack (moto + Telnyx simulator)"
	@echo "make test   - lint, typecheck, template lint and scan, sam build, unit + integration + e2e tests"
	@echo "make scan   - checkov on template.yaml: 0 failed, every skip with its reason"
	@echo "make bench  - print the benchmark numbers"

setup:
	@bash scripts/bootstrap.sh

lint: setup
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

typecheck: setup
	$(VENV)/mypy

template-lint: setup
	$(TOOLS)/cfn-lint template.yaml
	$(TOOLS)/sam validate --lint --template-file template.yaml

# The infrastructure scan a deploying team runs (checkov, CloudFormation framework): fails on a
# failed check and on a skip without a reason (scripts/scan_template.py).
scan: setup
	$(SCAN)/python scripts/scan_template.py template.yaml

# The console's front-end stack, from node_modules (npm ci, pinned by package-lock.json), into its function.
console-assets: setup
	$(VENV)/python scripts/vendor_console.py

build: setup console-assets
	$(TOOLS)/sam build --cached --parallel --template-file template.yaml

unit: setup
	$(VENV)/pytest tests/unit -q

integration: setup
	$(VENV)/pytest tests/integration -q

e2e: build
	$(VENV)/pytest tests/packaging tests/e2e -q

# The static checks and the build run side by side (each is one process; the machine has two
# cores). Then three test runs: in-process tests (moto's mock_aws patches botocore process-wide)
# never share a process with tests that talk to real servers (packaging smoke test, local stack),
# and the 100k-row import gets a moto world of its own (a big table slows every later moto call).
# The e2e modules run two at a time, each on stacks of its own (they mostly wait on the stack);
# the two longest (the demo, the dialing campaign) are named first and kept first, one per worker
# (xdist would order files by test count and leave a long one for the end). The 100k import runs
# beside them: the e2e stacks leave a core idle while they wait on calls and retry delays.
test: setup
	$(MAKE) --no-print-directory -j 3 lint typecheck template-lint scan build
	$(VENV)/pytest tests/unit tests/integration -q -n 2 --dist loadfile --durations=15
	mkdir -p .local; $(VENV)/pytest tests/scale -q -p no:cacheprovider > .local/scale-test.log 2>&1 & scale=$$!; \
	$(VENV)/pytest tests/e2e/test_demo.py tests/e2e/test_dialing.py tests/packaging tests/e2e -q -n 2 \
	  --dist loadfile --no-loadscope-reorder --durations=15; e2e=$$?; \
	wait $$scale; status=$$?; echo "tests/scale:"; \
	if [ $$status -eq 0 ]; then tail -n 1 .local/scale-test.log; else cat .local/scale-test.log; fi; \
	test $$e2e -eq 0 -a $$status -eq 0

dev: build
	$(TOOLS)/python -m local.dev

openapi: setup
	PYTHONPATH=layers/telnyx_client:layers/core:. $(VENV)/python scripts/openapi.py

config-reference: setup
	PYTHONPATH=layers/telnyx_client:layers/core:. $(VENV)/python scripts/config_reference.py

# The main job on this machine: a whole compliant campaign end to end (DEMO_LEADS=1000 for all of it).
demo: build
	PYTHONPATH=layers/telnyx_client:layers/core:. $(VENV)/python -m local.demo --explore

# make tenant T=acme STACK=telnyx-ai-dialer-dev   (deployed stack; Telnyx key from $$TELNYX_API_KEY)
# make tenant T=acme TABLE=... PREFIX=/telnyx-ai-dialer/local AWS_ENDPOINT_URL=http://127.0.0.1:5055
tenant: setup
	PYTHONPATH=layers/telnyx_client:layers/core:. $(VENV)/python scripts/tenant.py \
	  $(if $(STACK),--stack-name $(STACK),--table $(TABLE) --param-prefix $(PREFIX)) bootstrap $(T)

bench: build
	PYTHONPATH=layers/telnyx_client:layers/core:. $(VENV)/python bench/intake.py
	PYTHONPATH=layers/telnyx_client:layers/core:. $(VENV)/python bench/client.py
	PYTHONPATH=layers/telnyx_client:layers/core:. $(VENV)/python bench/policy.py
	PYTHONPATH=layers/telnyx_client:layers/core:. $(VENV)/python bench/simulator_scenario.py
	PYTHONPATH=layers/telnyx_client:layers/core:. $(VENV)/python bench/import.py
	PYTHONPATH=layers/telnyx_client:layers/core:. $(VENV)/python bench/dialing.py
	PYTHONPATH=layers/telnyx_client:layers/core:. $(VENV)/python bench/init.py
	PYTHONPATH=layers/telnyx_client:layers/core:cli:. $(VENV)/python bench/report.py

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache

# Control environment, deployment and tests of the onprem.mlops collection.
#   make deploy   set up .venv and deploy the server to the default inventory (this machine)
#   make test     lint, unit tests, Molecule (deploy + verify for real, here and in a VM), integration and e2e tests
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(abspath $(BIN)):$(PATH)
# auto: the public images when they can be pulled, else the local builds; or upstream / local.
MLOPS_IMAGE_SOURCE ?= auto
DEPLOY_ARGS ?=

.PHONY: help venv venv-dev docker images deploy test lint pins unit molecule test-vm test-vm-core integration e2e build clean

help:
	@grep -E '^#   make' $(MAKEFILE_LIST) | sed 's/^#   //'

$(BIN)/.requirements: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(BIN)/.requirements-dev: requirements.txt requirements-dev.txt $(BIN)/.requirements
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(BIN)/.requirements
venv-dev: $(BIN)/.requirements-dev

docker:
	scripts/ensure-docker.sh

images: docker
	scripts/build-images.sh all

deploy: venv docker
	@source="$(MLOPS_IMAGE_SOURCE)"; \
	if [ "$$source" = auto ]; then source="$$(scripts/image-source.sh)"; fi; \
	extra=(); \
	if [ "$$source" = local ]; then \
	  echo "make deploy: no container registry reachable, using the images built by make images"; \
	  scripts/build-images.sh all; \
	  extra=(-e mlops_image_source=local -e database_engine=mariadb); \
	fi; \
	$(BIN)/ansible-playbook playbooks/run_server.yml "$${extra[@]}" $(DEPLOY_ARGS)

lint: venv-dev
	$(BIN)/yamllint -s .
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/ansible-lint
	$(MAKE) pins
	$(MAKE) build

# The CI job image's pins are what images/ci-job/requirements.txt resolves to (scripts/pin-job-image.py).
pins: venv-dev
	$(BIN)/python scripts/pin-job-image.py --check

build: venv
	mkdir -p build
	$(BIN)/ansible-galaxy collection build --force --output-path build .

unit: venv-dev
	$(BIN)/pytest tests/unit

# The default scenario deploys the stack on this machine and leaves it up for the integration tests.
molecule: venv-dev images
	scripts/remove-stack.sh mlops-ci
	rm -rf build/ci-credentials
	$(BIN)/molecule test -s default --destroy never
	$(BIN)/molecule test -s docker_engine

# The server deployed over SSH into a throw-away Debian 12 VM (QEMU, software emulation where KVM cannot run
# it), verified from this machine through ports forwarded on 127.0.0.1 (docs/vm.md).
test-vm: venv-dev images
	$(BIN)/molecule test -s vm

# The same VM with part of the server (the database and MinIO, whose images load in minutes under emulation).
test-vm-core: venv-dev images
	$(BIN)/molecule test -s vm_core

integration: venv-dev
	eval "$$(tests/integration/stack-env.sh)"; $(BIN)/pytest -p no:cacheprovider tests/integration

# Students' pipelines through the CI template, run by gitlab-ci-local on the stack Molecule deployed.
e2e: venv-dev
	export GITLAB_CI_LOCAL="$$(scripts/install-gitlab-ci-local.sh)"; \
	eval "$$(tests/integration/stack-env.sh)"; $(BIN)/pytest -p no:cacheprovider tests/e2e

test: venv-dev images lint unit molecule integration e2e
	scripts/remove-stack.sh mlops-ci
	$(MAKE) test-vm-core

clean:
	rm -rf build .pytest_cache .ruff_cache

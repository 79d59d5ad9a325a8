# `make sam-runtime`: prepare this host for `sam local invoke` / `sam local start-api` without
# Docker (podman, qemu for arm64, a stand-in public.ecr.aws/lambda/python:3.13-arm64 image).
# See localapi/sam-runtime/README.md. Include it from the main Makefile:
#     include localapi/sam-runtime/sam-runtime.mk
# or use it alone: make -f localapi/sam-runtime/sam-runtime.mk sam-runtime
# Idempotent; a second run takes seconds. It fails with one line saying why when this host cannot
# be prepared (not root, not Debian/Ubuntu, apt-get failing, no binfmt_misc, ...).
ifndef SAM_RUNTIME_MK
SAM_RUNTIME_MK := $(lastword $(MAKEFILE_LIST))
SAM_RUNTIME_DIR := $(patsubst %/,%,$(dir $(SAM_RUNTIME_MK)))
SAM_RUNTIME_ROOT := $(abspath $(SAM_RUNTIME_DIR)/../..)
# What prepare.sh leaves for others: docker-host (the DOCKER_HOST that SAM is to use), the logs.
SAM_RUNTIME_STATE ?= $(SAM_RUNTIME_ROOT)/.tools/sam-runtime
export SAM_RUNTIME_STATE

.PHONY: sam-runtime
sam-runtime: ## Prepare podman, qemu and a stand-in Lambda python3.13 arm64 image for sam local (root, Debian)
	@PYTHON313="$(PYTHON313)" bash $(SAM_RUNTIME_DIR)/prepare.sh

# Where prepare.sh wrote it, SAM (and the tests) get DOCKER_HOST from make, unless it is set already.
SAM_RUNTIME_DOCKER_HOST := $(shell cat "$(SAM_RUNTIME_STATE)/docker-host" 2>/dev/null)
ifneq ($(SAM_RUNTIME_DOCKER_HOST),)
DOCKER_HOST ?= $(SAM_RUNTIME_DOCKER_HOST)
export DOCKER_HOST
endif
endif

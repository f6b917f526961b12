# Set-up, training and tests on a fresh Debian machine with Python 3 and root (or sudo).
# `make train` and `make test` each do all the set-up they need first.

VENV ?= .venv
PYTHON := $(VENV)/bin/python
ARGS ?=
DATASET_PACKAGE := dataset-fashion-mnist
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: setup data train test clean-venv

setup: $(VENV)/.installed

# The torch and torchvision pins in constraints.txt match the wheels this project's machines keep
# on local disk; without them pip would download a newer release.
$(VENV)/.installed: setup.cfg pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $@

# The Debian package is the offline source of FashionMNIST; the library still tries torchvision's
# download first where the internet is reachable.
data:
	@if dpkg -s $(DATASET_PACKAGE) >/dev/null 2>&1; then \
		echo "$(DATASET_PACKAGE) already installed"; \
	elif command -v apt-get >/dev/null 2>&1; then \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(DATASET_PACKAGE); \
	else \
		echo "apt-get not found: the data will come from torchvision's download or the data directory"; \
	fi

train: setup data
	$(PYTHON) examples/train_fashion.py $(ARGS)

test: setup data
	$(PYTHON) -m pytest $(ARGS)

clean-venv:
	rm -rf $(VENV)

# Two commands for a new user: `make demo` and `make test`. Both build .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export MUJOCO_GL ?= egl

.PHONY: demo test test-all bench lint clean-venv

$(PY):
	python3 -m venv $(VENV)

# torch/torchvision first: the pinned pair lies on this machine's disk and pip takes it from there.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.14.1 torchvision==0.29.1
	$(PIP) install -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/hvla demo

test: $(STAMP)
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m ''

bench: $(STAMP)
	$(PY) benchmarks/control.py --seeds 20
	$(PY) benchmarks/loop.py --seeds 50

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean-venv:
	rm -rf $(VENV)

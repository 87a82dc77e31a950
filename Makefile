# Two commands for a new user: `make demo` and `make test`. Both build .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export MUJOCO_GL ?= egl

.PHONY: demo test test-all bench lint clean-venv browser

$(PY):
	python3 -m venv $(VENV)

# torch/torchvision first: the pinned pair lies on this machine's disk and pip takes it from there.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.14.1 torchvision==0.29.1
	$(PIP) install -e '.[dev]'
	touch $(STAMP)

# The console's browser test drives Debian's chromium through chromedriver (playwright cannot fetch its
# browser on these machines). Installed once, when either is missing; apt's lists are refreshed if needed.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	  echo "installing chromium and chromium-driver for the console's browser test"; \
	  $(SUDO) apt-get install -y chromium chromium-driver || \
	  { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium chromium-driver; } || \
	  { echo "could not install chromium: run 'apt-get install -y chromium chromium-driver' as root" >&2; exit 1; }; \
	fi

demo: $(STAMP)
	$(VENV)/bin/hvla demo

test: $(STAMP) browser
	$(PY) -m pytest -q

test-all: $(STAMP) browser
	$(PY) -m pytest -q -m ''

bench: $(STAMP)
	$(PY) benchmarks/control.py --seeds 20
	$(PY) benchmarks/loop.py --seeds 50

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean-venv:
	rm -rf $(VENV)

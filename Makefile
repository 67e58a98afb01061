# LoRA Target Explorer. `make run` starts the dashboard, `make test` runs every test.
# Both create .venv with Python 3.11 and install the pinned requirements when needed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.requirements-installed
PORT   ?= 8501
ADDRESS ?= 127.0.0.1

REPLAY := .venv-replay
REPLAY_PY := $(REPLAY)/bin/python
REPLAY_STAMP := $(REPLAY)/.requirements-installed

.PHONY: venv replay-venv run test bench chromium

venv: $(STAMP)

$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is needed, found {sys.version.split()[0]} at {sys.executable}"'
	$(PYTHON) -m venv $(VENV)

# Re-install only when requirements.txt is newer than the stamp.
$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

# Test-only environment for replaying other tools' own code (trainers, serving engines) on our
# exports: a second venv that sees .venv's packages (our CPU torch, transformers, peft) through a
# .pth file and adds the pinned tools of requirements-replay.txt, installed with --no-deps so that
# nothing replaces our torch with a CUDA build. Tests run the replays in subprocesses of it.
replay-venv: $(REPLAY_STAMP)

$(REPLAY_STAMP): requirements-replay.txt requirements-replay-build.txt $(STAMP)
	@test -x $(REPLAY_PY) || $(PY) -m venv $(REPLAY)
	$(PY) -c 'import site, sys; print(site.getsitepackages()[0])' > "$$($(REPLAY_PY) -c 'import site; print(site.getsitepackages()[0])')/_project_venv.pth"
	$(REPLAY_PY) -m pip install --disable-pip-version-check -q --no-deps -r requirements-replay-build.txt
	DS_BUILD_OPS=0 $(REPLAY_PY) -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation \
		-r requirements-replay.txt
	touch $@

run: venv
	$(PY) -m ui.serve run app.py --server.headless=true --server.address=$(ADDRESS) \
		--server.port=$(PORT) --browser.gatherUsageStats=false --server.fileWatcherType=none

# The browser test drives Debian's Chromium (Playwright's own browser download cannot work here).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-liberation fonts-noto-color-emoji; \
		else \
			echo "error: /usr/bin/chromium is missing; run 'sudo apt-get install -y chromium fonts-liberation' (the browser test needs it)" >&2; \
			exit 1; \
		fi; \
	fi

test: venv replay-venv chromium
	PYTHONPATH=. $(PY) -m pytest -q tests

bench: venv
	@set -e; for f in bench/*.py; do echo "== $$f"; PYTHONPATH=. $(PY) $$f; done

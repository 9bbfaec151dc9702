# Everything a fresh machine needs is made here: the virtual environment, the dependencies and the
# compiled catalogs. `make demo` and `make test` are the two commands a newcomer runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PO     := $(wildcard locales/*/LC_MESSAGES/messages.po)
MO     := $(PO:.po=.mo)

.PHONY: help install catalogs messages run demo test bench migrate clean

help:
	@echo "make demo      play the scripted scenario against the offline sandbox (LANG=en for English)"
	@echo "make test      run the whole test suite"
	@echo "make run       run the bot with long polling (needs TELEGRAM_BOT_TOKEN in .env)"
	@echo "make bench     run the benchmarks in bench/"
	@echo "make messages  extract strings and update the catalogs after changing user-facing text"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $@

install: $(STAMP) catalogs

catalogs: $(MO)

%.mo: %.po $(STAMP)
	@$(BIN)/pybabel compile --statistics -i $< -o $@ -l $(word 2,$(subst /, ,$<))

messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output \
		--project "Qinqing Bridge" -o locales/messages.pot bot handlers storage sandbox
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching --ignore-obsolete --init-missing -l zh_CN
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching --ignore-obsolete --init-missing -l en
	$(BIN)/python locales/fill_english.py

run: install
	@$(BIN)/python -m bot run

demo: install
	@$(BIN)/python -m bot demo

migrate: install
	@$(BIN)/python -m bot migrate

test: install
	$(BIN)/ruff check bot handlers storage sandbox bench tests locales
	$(BIN)/python -m pytest -n 3 --dist loadfile

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(MO) .pytest_cache .hypothesis

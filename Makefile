# Trial analysis report. The two everyday commands: `make report` and `make test`.
# TRIAL=trials/<name> picks the trial (default: pyproject's [tool.trial-report] default-trial);
# DATA=folder overrides its data folder (default: the specification's data.folder).
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < requirements.lock | cut -d' ' -f1)
TRIAL ?= $(shell sed -n 's/^default-trial *= *"\(.*\)".*/\1/p' pyproject.toml)
ENGINE ?= auto
BLINDED ?= 0
export REPORT_TRIAL := $(abspath $(TRIAL))
ifneq ($(strip $(DATA)),)
export REPORT_DATA := $(abspath $(DATA))
endif
DATA_ARG := $(if $(strip $(DATA)),--data "$(DATA)")
export REPORT_BLINDED := $(BLINDED)
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

.PHONY: report test validate results data bench supplement verify lint setup clean figures-baseline

## setup: create .venv from the exact versions in requirements.lock (first use only)
setup: $(STAMP)

$(STAMP): requirements.lock
	@echo "Setting up $(VENV) from requirements.lock (first use only)..."
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@$(BIN)/python -c "import site, pathlib; pathlib.Path(site.getsitepackages()[0], 'respine_project.pth').write_text('$(CURDIR)\n')"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

## report: compute the results and render the manuscript (HTML, PDF, DOCX) into _output/;
## reuses the build cache (.cache/build/) for whatever inputs are unchanged
report: $(STAMP)
	REPORT_CACHE=1 $(BIN)/python -m publishing render --engine $(ENGINE) --trial "$(TRIAL)" $(DATA_ARG)
	REPORT_CACHE=1 $(BIN)/python -m publishing.article --engine $(ENGINE) --trial "$(TRIAL)" $(DATA_ARG)
	REPORT_CACHE=1 $(BIN)/python -m publishing supplement --engine $(ENGINE) --trial "$(TRIAL)" $(DATA_ARG)

## results: compute the results store, tables and figures only; they replace _output/ whole
results: $(STAMP)
	$(BIN)/python -m publishing results --trial "$(TRIAL)" $(DATA_ARG)

## validate: check the trial's specification (schema, references) and its data folder (DATA=,
## else the specification's data.folder) against the ADaM contract; reports every problem
validate: $(STAMP)
	$(BIN)/python -m analysis validate --trial "$(TRIAL)" $(DATA)

## data: regenerate the committed synthetic dataset (deterministic)
data: $(STAMP)
	$(BIN)/python -m trials.respine.synthetic --out data/synthetic

## test: lint and run the test suite (each test chooses its own trial)
test: REPORT_TRIAL :=
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

## figures-baseline: redraw the reference images of the picture regression test (look at them before committing)
figures-baseline: $(STAMP)
	REPORT_REFRESH_BASELINE=1 $(BIN)/python -m pytest tests/test_figures.py -q -k reference_image

## bench: analysis at n = 1,000, 10,000, 100,000 (growth exponent, peak memory), unchanged
## and one-chapter-edit rebuilds, builtin vs Quarto when on PATH; figures in .cache/bench.json
BENCH_SIZES ?= 1000,10000,100000
bench: $(STAMP)
	$(BIN)/python -m analysis bench --sizes $(BENCH_SIZES)

## supplement: the journal supplement and its zip (_output/supplement/); `make report` builds it
## after the report and the article, so this is the same target
supplement: report

## verify: rebuild from scratch in a temporary folder and compare output hashes
verify: $(STAMP)
	$(BIN)/python -m publishing verify --engine $(ENGINE) --trial "$(TRIAL)" $(DATA_ARG)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf _output ._output.* _build .cache

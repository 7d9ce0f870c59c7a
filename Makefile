# The course's commands. `make lab` and `make test` are the two a newcomer needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_ARGS ?=
# JupyterLab refuses to start as root unless told; containers and CI often run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
SUBMISSIONS ?= submissions/
NBVAL_FLAGS := --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
# OpenBLAS threads spin-wait for busy cores: on 2 shared cores a 256x256 QR or product loop ran
# 30-90x slower multi-threaded (lecture 06: 37 s vs 1.4 s for one cell). One thread everywhere.
# Same pinned kernel environment as course_utils.grading.build.KERNEL_ENV (a test keeps them equal):
# float32 BLAS results depend on the thread count, and nbval compares printed numbers strictly.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export PYTHONHASHSEED := 0
export OPENBLAS_CORETYPE := Haswell
export NPY_DISABLE_CPU_FEATURES := X86_V4 AVX512_ICL AVX512_SPR
export ATEN_CPU_CAPABILITY := avx2
export MKL_ENABLE_INSTRUCTIONS := AVX2

.PHONY: setup lab test lint unit nbval notebooks exercises grade bench html slides clean

setup: $(STAMP)

# Rebuild only when the dependency list changes: `make setup` is a no-op when .venv is current.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

lab: setup
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ALLOW_ROOT) $(LAB_ARGS)

lint: setup
	$(BIN)/ruff check .

unit: setup
	MPLBACKEND=Agg $(BIN)/python -m pytest tests -q

# Every notebook in the repository runs under nbval (strict output comparison), two notebooks at
# a time (one kernel each; --dist loadfile keeps a notebook's cells together in one worker).
nbval: setup
	@nbs=$$(find notebooks solutions exercises -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | sort); \
	if [ -z "$$nbs" ]; then echo "nbval: no notebooks yet"; \
	else $(BIN)/python -m pytest $(NBVAL_FLAGS) -n 2 --dist loadfile -q $$nbs; fi

test: lint unit nbval

# Re-execute every lecture and solution notebook in place (outputs are committed).
notebooks: setup
	$(BIN)/python -m course_utils.grading.build execute notebooks solutions

# Regenerate the student notebooks from the solutions (the single source).
exercises: setup
	$(BIN)/python -m course_utils.grading.build exercises solutions exercises

grade: setup
	$(BIN)/python -m course_utils.grade $(SUBMISSIONS) --json grades.json --csv gradebook.csv

bench: setup
	$(BIN)/python benchmarks/run.py

html: setup
	$(BIN)/python -m course_utils.site html build/site

slides: setup
	$(BIN)/python -m course_utils.site slides build/slides

clean:
	rm -rf build .pytest_cache

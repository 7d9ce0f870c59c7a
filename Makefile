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

.PHONY: setup lab test lint unit nbval notebooks exercises grade bench html slides clean lite
.PHONY: system-deps constraints autograder links test-portable test-pythons release nbgrader

setup: $(STAMP)

# Rebuild only when the dependency list changes: `make setup` is a no-op when .venv is current.
# torch first, as the CPU build (tools/install_torch.py: on Linux x86-64 from PyTorch's whl/cpu
# index, probed with a 10 s limit, else pip's default resolver); then the course with every extra,
# at the exact versions of constraints.txt that computed the committed outputs. Finally a warning
# if CUDA packages came in anyway (tests/test_packaging.py fails on them).
$(STAMP): pyproject.toml constraints.txt tools/install_torch.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python tools/install_torch.py --python $(BIN)/python
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[torch,lab,grade,site,dev]'
	@# JupyterLite's kernel extension (the [lite] extra, for `make lite`) is not for JupyterLab
	@$(BIN)/jupyter labextension disable --level=sys_prefix @jupyterlite/pyodide-kernel-extension >/dev/null 2>&1 || true
	@$(BIN)/python tools/install_torch.py --python $(BIN)/python --check || true
	@touch $(STAMP)

# Pin what the current .venv has (after deliberately upgrading a package, then re-run notebooks).
constraints:
	$(BIN)/python tools/freeze_constraints.py

# System packages the tests use, from the system package manager: Debian's chromium (browser
# tests) and bubblewrap (the grader's sandbox). Installs only what is missing; without apt-get, or
# without root and sudo, it says so and does nothing (those tests then skip with the reason).
system-deps:
	@bash tools/system_deps.sh chromium:/usr/bin/chromium bubblewrap:bwrap

# JupyterLab rooted at the course folder, so notebooks/ and exercises/ are both in its file browser
# (tests/test_lab_root.py starts it with these arguments); it opens on the first lecture.
LAB_OPEN := --notebook-dir=. --LabApp.default_url=/lab/tree/notebooks/00_why_initialization.ipynb
lab: setup
	$(BIN)/jupyter lab $(LAB_OPEN) $(ALLOW_ROOT) $(LAB_ARGS)

lint: setup
	$(BIN)/ruff check .

# Two workers (most of the slow tests wait on kernels, sandboxes and Chromium); --dist loadfile
# keeps a module's tests, and the fixtures they share, in one worker.
# The tests that load every core on purpose (machine_load: grades under 4x load) run alone
# afterwards, so their load never slows another test's sandbox.
unit: setup
	MPLBACKEND=Agg $(BIN)/python -m pytest tests -q -n 2 --dist loadfile --durations=15 -m "not machine_load"
	MPLBACKEND=Agg $(BIN)/python -m pytest tests -q -m machine_load

# Every notebook in the repository runs under nbval (strict output comparison), two notebooks at
# a time (one kernel each; --dist loadfile keeps a notebook's cells together in one worker).
nbval: setup
	@nbs=$$(find notebooks solutions exercises -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | sort); \
	if [ -z "$$nbs" ]; then echo "nbval: no notebooks yet"; \
	else $(BIN)/python -m pytest $(NBVAL_FLAGS) -n 2 --dist loadfile -q $$nbs; fi

test: lint unit nbval

# The same nbval run with another machine's numeric code paths in the kernels (OpenBLAS
# Sandybridge kernels, numpy without AVX2/FMA3/AVX-512, torch's default ATen path, MKL's
# compatible path: course_utils.kernel_env.PORTABLE_ENV). Committed outputs must pass it too.
test-portable: setup
	@nbs=$$(find notebooks solutions exercises -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*' | sort); \
	COURSE_KERNEL_PROFILE=portable $(BIN)/python -m pytest $(NBVAL_FLAGS) -n 2 --dist loadfile -q $$nbs

# The unit tests on every Python 3.10-3.13 this machine has (pyenv, PATH or uv), each in a
# torch-free venv of its own (.venv-py/3.X): torch tests skip there with the reason.
test-pythons:
	bash tools/test_pythons.sh

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

# Gradescope: build/autograder/$(EXERCISE).zip (setup.sh, run_autograder, the course wheel).
EXERCISE ?= 03_lecun
autograder: setup
	$(BIN)/python -m course_utils.grading.autograder build $(EXERCISE) --out build/autograder --root .

# nbgitpuller links for a JupyterHub: make links HUB=https://hub.example.edu REPO=https://github.com/o/r
HUB ?=
REPO ?=
BRANCH ?= main
links: setup
	@test -n "$(HUB)" -a -n "$(REPO)" || { echo "usage: make links HUB=https://hub... REPO=https://github.com/... [BRANCH=main]"; exit 2; }
	@$(BIN)/python -m course_utils.links --hub "$(HUB)" --repo "$(REPO)" --branch "$(BRANCH)" --root .

# nbgrader for the instructor (the [nbgrader] extra; docs/deploy.md has the round trip). Its server
# and JupyterLab extensions (and the notebook app it pulls in) are disabled in .venv, so the
# JupyterLab of `make lab` stays the students' (tests/test_lab_root.py checks it).
NBGRADER_SERVER_EXTENSIONS := nbgrader.server_extensions.formgrader \
	nbgrader.server_extensions.validate_assignment nbgrader.server_extensions.assignment_list \
	nbgrader.server_extensions.course_list notebook
nbgrader: setup
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[nbgrader]'
	@for e in $(NBGRADER_SERVER_EXTENSIONS); do \
		$(BIN)/jupyter server extension disable --sys-prefix $$e >/dev/null 2>&1 || exit 1; done
	$(BIN)/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader @jupyter-notebook/lab-extension

# The tree a class receives (build/release): lectures, exercises, the library with check() judging
# from stored visible expectations; no solutions/, no question module, no reference (docs/deploy.md).
release: setup
	$(BIN)/python -m course_utils.release build build/release --root .

# JupyterLite: build/lite, a static site running the torch-free lectures and exercises in the
# browser (Pyodide), with the course wheel for check(); serve it over HTTP (python -m http.server).
# The kernel loads Pyodide from its CDN unless PYODIDE=path/to/pyodide-*.tar.bz2 is given.
PYODIDE ?=
lite: setup
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[lite]'
	$(BIN)/python tools/build_lite.py build/lite --root . $(if $(PYODIDE),--pyodide "$(PYODIDE)",)

html: setup
	$(BIN)/python -m course_utils.site html build/site --root .

slides: setup
	$(BIN)/python -m course_utils.site slides build/slides --root .

clean:
	rm -rf build .pytest_cache

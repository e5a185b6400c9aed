# Two commands from a fresh clone: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO_STAMP := $(VENV)/.demo
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-gpu lint clean

# The demo needs the library and its everyday extras (datasets, progress bar, plots, checkpoints);
# the tests add the dev tools, Numba (the fast kernels, tested against the NumPy path) and PyTorch,
# their comparison oracle (about 1 GB more).
$(DEMO_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[all]'
	touch $(DEMO_STAMP)

$(STAMP): $(DEMO_STAMP)
	$(PY) -m pip install --quiet -e '.[all,dev,fast]'
	touch $(STAMP)

# Graphviz, Open MPI and pdflatex where they can be installed, then mpi4py (it compiles against MPI).
$(VENV)/.system: $(STAMP) scripts/system-deps.sh
	bash scripts/system-deps.sh
	if command -v mpicc >/dev/null 2>&1; then $(PY) -m pip install --quiet -e '.[distributed]' || echo "mpi4py did not install; the distributed tests will skip"; fi
	touch $(VENV)/.system

demo: $(DEMO_STAMP)
	$(VENV)/bin/chainrule train --out runs/demo --overwrite

test: $(STAMP) $(VENV)/.system lint
	$(PY) -m pytest -q -n 2 -p no:cacheprovider

# The machines this was built on force an old OpenBLAS kernel through these two variables; a
# user's machine has neither, so the headline figures are taken with both unset, and again as set
# where they are. Each library runs in its own process (benchmarks/run.py); the one-process
# interleaved table comes after, as a secondary one.
bench: $(STAMP) $(VENV)/.system
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/run.py --busy 2 --label "as a user's machine (OPENBLAS_CORETYPE/L2_SIZE unset)" --write benchmarks/results.md
	if [ -n "$$OPENBLAS_CORETYPE$$OPENBLAS_L2_SIZE" ]; then $(PY) benchmarks/run.py --label "as set on this machine" --append benchmarks/results.md; \
	else printf '\nOPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are not set on this machine: the table above stands for both.\n' >> benchmarks/results.md; fi
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/inprocess.py --label "OPENBLAS_CORETYPE/L2_SIZE unset" --append benchmarks/results.md
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(PY) benchmarks/playground.py --append benchmarks/results.md
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/distributed.py --label "1 and 2 ranks on this machine" --append benchmarks/results.md
	cat benchmarks/results_gpu.md >> benchmarks/results.md  # the last GPU run's figures (make bench-gpu)

# On a machine with an NVIDIA GPU, CuPy (pip install -e '.[cuda]') and PyTorch built with CUDA.
bench-gpu: $(STAMP)
	$(PY) benchmarks/gpu.py --write benchmarks/results_gpu.md

# ruff (style, line length) and import-linter (the house: imports point only down a floor, pyproject.toml)
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks examples scripts
	$(VENV)/bin/ruff format --check src tests benchmarks examples scripts
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) build src/*.egg-info runs

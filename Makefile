# One command to install and train (make demo), one to install and test (make test). Both build .venv with pip.
VENV ?= .venv
PY := $(VENV)/bin/python
PLUGINS := $(wildcard plugins/*/pyproject.toml)

# Where torch comes from. Empty: pip's default index, whose Linux wheel of torch brings the CUDA libraries
# (a .venv of about 6 GB). For the CPU-only build:
#     make install TORCH_INDEX=https://download.pytorch.org/whl/cpu
# (to change the build of an existing .venv, `make clean` first).
TORCH_INDEX ?=
TORCH ?= torch==2.14.1 torchvision==0.29.1
TORCH_CHOICE = $(TORCH) from $(or $(TORCH_INDEX),pip's default index)

.PHONY: install demo test test-slow docs bench dist index clean

install: $(VENV)/.installed
	@test ! -f $(VENV)/.torch || test "$$(cat $(VENV)/.torch)" = "$(TORCH_CHOICE)" || \
	  { echo "$(VENV) holds $$(cat $(VENV)/.torch); for $(TORCH_CHOICE) run make clean first" >&2; exit 2; }

$(VENV)/.installed: pyproject.toml $(PLUGINS)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) $(TORCH)
	$(PY) -m pip install --quiet -e ".[data,test,tensorboard,docs]" $(foreach p,$(PLUGINS),-e $(dir $(p)))
	echo "$(TORCH_CHOICE)" > $(VENV)/.torch
	touch $@

# train.threads: auto (the default) times the first steps at one thread and at every core and keeps the faster.
demo: install
	$(VENV)/bin/gan run --plugin gan --output runs/demo --overwrite
	@echo "samples: runs/demo/samples/step-005000.png  checkpoints: runs/demo/checkpoints/  log: runs/demo/metrics.jsonl"
	@echo "scores:  $(VENV)/bin/gan eval runs/demo --metric fid --metric kid -n 1000"

# The fast suite: everything but the tests marked slow (wheel builds, fresh environments, long trainings).
test: install
	$(PY) -m pytest -n auto -q -m "not slow"

test-slow: install
	$(PY) -m pytest -n auto -q -m slow

# The documentation site, offline: docs/gen.py writes the pages into build/docs (generated references,
# family pages from the plugin READMEs, benchmark results), then MkDocs builds build/site. --strict: a
# broken link or a page missing from the nav fails the build.
docs: install
	$(PY) docs/gen.py
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet
	@echo "site: build/site/index.html"

bench: install
	$(PY) benchmarks/ring.py
	$(PY) benchmarks/overhead.py

# A wheel and an sdist of gancore and of every plugin, into dist/ (offline: the venv's setuptools builds them).
# Before the packages are on an index: pip install --find-links dist gan-bgan (gancore comes from dist/ too).
dist: install
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist . $(foreach p,$(PLUGINS),&& $(PY) -m build --no-isolation --outdir dist $(dir $(p)))
	@ls dist

# A PEP 503 "simple" package index of the files in $(DIST), written to $(INDEX): one folder per project, as any
# index serves them. Serve it with any web server, e.g. python -m http.server --directory build/index 8000,
# then: pip install --index-url http://HOST:8000/simple/ --extra-index-url https://pypi.org/simple gan-bgan
DIST ?= dist
INDEX ?= build/index
index:
	test -n "$$(ls $(DIST))" || { echo "no files in $(DIST): run make dist first" >&2; exit 2; }
	rm -rf $(INDEX)
	for f in $(DIST)/*; do case $$f in *.whl|*.tar.gz) \
	  project=$$(basename $$f | sed -E 's/-[0-9].*$$//; s/[-_.]+/-/g' | tr A-Z a-z); \
	  mkdir -p $(INDEX)/simple/$$project && cp $$f $(INDEX)/simple/$$project/;; esac; \
	done
	@ls $(INDEX)/simple

clean:
	rm -rf $(VENV) runs benchmarks/_work dist build

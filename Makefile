# One command to install and train, one to install and test. Both build .venv with pip.
VENV ?= .venv
PY := $(VENV)/bin/python
PLUGINS := $(wildcard plugins/*/pyproject.toml)

.PHONY: install demo test bench dist clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(PLUGINS)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install --quiet -e ".[data,test,tensorboard]" $(foreach p,$(PLUGINS),-e $(dir $(p)))
	touch $@

# train.threads: auto (the default) times the first steps at one thread and at every core and keeps the faster.
demo: install
	$(VENV)/bin/gan run --plugin gan --output runs/demo --overwrite
	@echo "samples: runs/demo/samples/step-005000.png  checkpoints: runs/demo/checkpoints/  log: runs/demo/metrics.jsonl"
	@echo "scores:  $(VENV)/bin/gan eval runs/demo --metric fid --metric kid -n 1000"

test: install
	$(PY) -m pytest -n auto -q

bench: install
	$(PY) benchmarks/ring.py
	$(PY) benchmarks/overhead.py

# A wheel and an sdist of gancore and of every plugin, into dist/ (offline: the venv's setuptools builds them).
# Before the packages are on an index: pip install --find-links dist gan-bgan (gancore comes from dist/ too).
dist: install
	rm -rf dist
	$(PY) -m build --no-isolation --outdir dist . $(foreach p,$(PLUGINS),&& $(PY) -m build --no-isolation --outdir dist $(dir $(p)))
	@ls dist

clean:
	rm -rf $(VENV) runs benchmarks/_work dist

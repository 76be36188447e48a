# Two entry points for a fresh machine: `make demo` and `make test` (both set everything up first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FMNIST_DEB_DIR := /usr/share/datasets/fashion-mnist

.PHONY: setup data test test-all docs demo demo-10 demo-emoji bench notebooks source-emoji clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# Fashion-MNIST from Debian when we are root on Debian; elsewhere kgantl downloads it on first use.
# Best effort: the tests do not need it, so an unreachable package mirror only warns.
data:
	@if [ ! -d $(FMNIST_DEB_DIR) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) \
		|| echo "warning: could not install dataset-fashion-mnist; kgantl will download Fashion-MNIST"; \
	fi

setup: $(STAMP) data

# One pytest worker per core (pytest-xdist): the suite is mostly single-threaded tracing and small steps.
# loadgroup: tests marked with one xdist_group share a worker (the wheel test builds its wheel once).
# `make test` is the quick loop: it skips the tests marked slow (longer training, notebooks, the wheel);
# `make test-all` runs every test, as CI does.
test: setup
	$(BIN)/python -m pytest -n auto --dist loadgroup

test-all: setup
	$(BIN)/python -m pytest -n auto --dist loadgroup -m ''

# The main job: adapt the shipped classes-0-4 source GAN to 100 sneakers (class 7), sample and score it, and
# put it beside a GAN trained from scratch for the same 400 steps (comparison.png: would you call these sneakers?).
DEMO_STRATEGY := vision_d
demo: setup
	$(BIN)/kgantl transfer --source saved_models/source-fmnist-0-4 --target fashion_mnist:7 --shots 100 \
		--strategy $(DEMO_STRATEGY) --epochs 8 --steps-per-epoch 50 --run-dir runs/demo
	$(BIN)/kgantl train --data fashion_mnist:7 --shots 100 --diffaugment color,translation,cutout --batch-size 32 \
		--epochs 8 --steps-per-epoch 50 --run-dir runs/demo-scratch
	$(BIN)/kgantl generate runs/demo/saved_model --n 64 --out runs/demo/exported_samples.png
	$(BIN)/kgantl compare runs/demo-scratch runs/demo --names "scratch, 400 steps" "$(DEMO_STRATEGY), 400 steps" \
		--shots-from fashion_mnist:7 --shots 100 --out runs/demo/comparison.png
	$(BIN)/kgantl evaluate runs/demo --ref fashion_mnist:7 --split test --n 1000

# Ten shots: `kgantl transfer` with no recipe flags (at <=30 images: DiffAugment and the copy check, which keeps the
# latest checkpoint that shows no copying and stops once copying sets in) beside scratch with DiffAugment at the same
# 1000-step budget, both scored on the test sneakers.
# comparison.png: the shots, scratch, and the adapted GAN at its chosen step (runs/demo-10/selection.json).
demo-10: setup
	$(BIN)/kgantl transfer --source saved_models/source-fmnist-0-4 --target fashion_mnist:7 --shots 10 \
		--epochs 20 --steps-per-epoch 50 --run-dir runs/demo-10
	$(BIN)/kgantl train --data fashion_mnist:7 --shots 10 --diffaugment color,translation,cutout --batch-size 32 \
		--epochs 20 --steps-per-epoch 50 --run-dir runs/demo-10-scratch
	$(BIN)/kgantl compare runs/demo-10-scratch runs/demo-10 --names "scratch, 1000 steps" \
		"kgantl transfer, chosen step" --shots-from fashion_mnist:7 --shots 10 --out runs/demo-10/comparison.png
	$(BIN)/kgantl evaluate runs/demo-10 --ref fashion_mnist:7 --split test --n 1000
	$(BIN)/kgantl evaluate runs/demo-10-scratch --ref fashion_mnist:7 --split test --n 1000

# Colour, from one art style to another: the shipped Noto source GAN adapted to ten Twemoji from outside "Animals &
# Nature" (`@none`: one set; the emoji n-shot rule on the train split) by `kgantl transfer` with no recipe flag (the
# colour benchmark's recipe: its strategy, DiffAugment and budget, from kgantl/measured.json), beside scratch with
# DiffAugment for 1000 generator steps (as demo-10; on the colour grid scratch's KID falls until about step 1000),
# both scored on that set's test split (images neither saw). The first command fetches the Twemoji package (npm
# pack) unless its tarball is in the data folder. comparison.png: the shots, scratch, the adapted GAN.
EMOJI_TARGET := emoji:twitter:!Animals & Nature
DEMO_EMOJI_EPOCHS := 10
demo-emoji: setup
	$(BIN)/kgantl transfer --source source-emoji-noto-64 --target "$(EMOJI_TARGET)@none" --shots 10 \
		--run-dir runs/demo-emoji
	$(BIN)/kgantl train --data "$(EMOJI_TARGET)@none" --shots 10 --diffaugment color,translation,cutout \
		--batch-size 32 --epochs $(DEMO_EMOJI_EPOCHS) --steps-per-epoch 100 --run-dir runs/demo-emoji-scratch
	$(BIN)/kgantl compare runs/demo-emoji-scratch runs/demo-emoji --names "scratch" "kgantl transfer, chosen step" \
		--shots-from "$(EMOJI_TARGET)@none" --shots 10 --out runs/demo-emoji/comparison.png
	$(BIN)/kgantl evaluate runs/demo-emoji --ref "$(EMOJI_TARGET)" --split test --n 1000
	$(BIN)/kgantl evaluate runs/demo-emoji-scratch --ref "$(EMOJI_TARGET)" --split test --n 1000

# The colour source GAN (issue 35): Noto emoji outside "Animals & Nature" (the train split), 64x64 RGB, the design
# of 64 px (config.DESIGN_BY_SIZE), bfloat16 (every CPU these runs met has bfloat16 units), hours of CPU: stop it
# at any time (Ctrl-C, a kill, the session's end) and run the same target again to resume it exactly.
SOURCE_EMOJI_STEPS := 60000
source-emoji: setup
	nice -n 10 $(BIN)/kgantl train --data "emoji:google:!Animals & Nature" --run-dir runs/source-emoji-noto-64 \
		--steps $(SOURCE_EMOJI_STEPS) --steps-per-epoch 500 --precision mixed_bfloat16 --spectral-norm \
		--r1-weight 0.1 --diffaugment color,translation,cutout

# Run every notebook top to bottom in full mode and save its outputs into the file (what is committed).
notebooks: setup
	$(BIN)/python notebooks/execute.py --save

# The documentation site into build/site (mkdocs.yml); strict: a warning (broken link, bad docstring) fails it.
docs: setup
	$(BIN)/python -m pip install -q -e '.[docs]'
	$(BIN)/mkdocs build --strict

bench: setup
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) runs *.egg-info

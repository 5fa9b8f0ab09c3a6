"""Fit the sentence model of ``token_efficiency``'s filler detector on the tuning batches.

The model (:mod:`benchroute.scorers._filler`) is a logistic regression over a few general
signals of a sentence (length, word frequency, overlap with the question and the reply, position,
rating words; :data:`~benchroute.scorers._filler.FEATURE_NAMES`). Its weights live in the code,
so the scorer needs no model file; this script is how they were obtained:

* the sentences of the answers in ``data/filler_labelled.jsonl`` whose batch is a *tuning*
  batch (:data:`TUNING_BATCHES`; the held-out batches ``5`` and ``fresh_b`` are never read),
  split with the scorer's splitter; a sentence is filler when at least half its tokens are
  marked; sentences the detector never calls filler (numbers, code, quotes, yes/no) are left out;
* L2-regularised logistic regression (``C`` = 3, chosen by leaving one tuning batch out;
  intercept not penalised), fitted by Newton's method with numpy;
* printed as the ``_WEIGHTS`` / ``_BIAS`` literals to paste into ``_filler.py``, with the
  sentence-level leave-one-batch-out figures (fit on the other tuning batches, test on one).

Run it with the project's venv::

    .venv/bin/python benchmarks/fit_filler_model.py
"""

from __future__ import annotations

import json
import sys

import numpy as np
from filler_share import DATA, TOKEN, batch_of, unmark

from benchroute.scorers import _filler
from benchroute.scorers._claims import split_sentences

TUNING_BATCHES = ("1", "2", "3", "4", "fresh_a", "fresh_c", "fresh_d")
C = 3.0


def sentences(batches: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels (1 = filler) of the sentences of the rows in ``batches``."""
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    features: list[tuple[float, ...]] = []
    labels: list[int] = []
    for row in rows:
        if batch_of(row["id"]) not in batches:
            continue
        text, spans = unmark(row["answer"])
        split = split_sentences(text)
        position = 0
        for sentence, vector in zip(split, _filler.sentence_features(split, row["question"]), strict=True):
            start = max(text.find(sentence, position), position)
            position = start + len(sentence)
            if _filler.is_protected(sentence):
                continue
            starts = [start + t.start() for t in TOKEN.finditer(sentence)]
            marked = sum(1 for at in starts if any(a <= at < b for a, b in spans))
            features.append(vector)
            labels.append(int(bool(starts) and marked / len(starts) >= 0.5))
    return np.array(features, dtype=float), np.array(labels, dtype=float)


def fit(x: np.ndarray, y: np.ndarray, c: float = C) -> tuple[np.ndarray, float]:
    """Weights and bias minimising log-loss + ||w||^2 / (2c), by Newton's method."""
    design = np.hstack([x, np.ones((len(x), 1))])
    penalty = np.eye(design.shape[1]) / c
    penalty[-1, -1] = 0.0  # the intercept is not penalised
    theta = np.zeros(design.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-design @ theta))
        gradient = design.T @ (p - y) + penalty @ theta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return theta[:-1], float(theta[-1])


def main() -> int:
    x, y = sentences(TUNING_BATCHES)
    weights, bias = fit(x, y)
    print(f"{len(y)} sentences ({int(y.sum())} filler) from batches {', '.join(TUNING_BATCHES)}\n")
    for name, weight in zip(_filler.FEATURE_NAMES, weights, strict=True):
        print(f"  {name:22} {weight:+.2f}")
    print(f"  {'bias':22} {bias:+.2f}\n")
    print("_WEIGHTS = (" + ", ".join(f"{w:.2f}" for w in weights) + ")")
    print(f"_BIAS = {bias:.2f}\n")
    print("leave one tuning batch out (sentences, probability >= 0.5):")
    for held in TUNING_BATCHES:
        train = tuple(b for b in TUNING_BATCHES if b != held)
        w, b = fit(*sentences(train))
        xt, yt = sentences((held,))
        predicted = 1 / (1 + np.exp(-(xt @ w + b))) >= 0.5
        hits = int((predicted & (yt == 1)).sum())
        print(
            f"  {held:8} filler found {hits}/{int(yt.sum())}, "
            f"content called filler {int((predicted & (yt == 0)).sum())}/{int((yt == 0).sum())}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Model selection for the offline AI provider: repeated cross-validation on the training set only.

The held-out file (`tickets_heldout.jsonl`) is never read here: it scores the shipped model once a
configuration is chosen (`manage.py ai_eval`). This script compares the shipped configuration
(`offline.make_vectorizer()` + `offline.make_classifier()` on `offline.model_text()`) with a few
variants, by stratified 5-fold cross-validation repeated with `--seeds` shuffles (default 3), and
prints the mean category and priority accuracy with the per-seed values. The spread between seeds
(about 0.003 at 1,400 tickets) is the noise floor: variants closer than that are a tie.

    OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.ai_offline_cv [VARIANT ...] [--seeds N]

Variants: shipped (default), C0.25, C1, C2, words13, chars36, uncalibrated, logreg.
"""

from __future__ import annotations

import argparse
import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

from tenant_apps.ai.providers import offline  # noqa: E402


def _svc(C):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    return lambda: CalibratedClassifierCV(LinearSVC(C=C, random_state=0), cv=5, method="sigmoid")


def _vectorizer(words=(1, 2), chars=(2, 5)):
    def make():
        vectorizer = offline.make_vectorizer()
        vectorizer.transformer_list[0][1].set_params(ngram_range=words)
        vectorizer.transformer_list[1][1].set_params(ngram_range=chars)
        return vectorizer

    return make


def _uncalibrated():
    from sklearn.svm import LinearSVC

    return LinearSVC(C=0.5, random_state=0)


def _logreg():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=10, max_iter=2000)


VARIANTS = {
    "shipped": (offline.make_vectorizer, offline.make_classifier),
    "C0.25": (offline.make_vectorizer, _svc(0.25)),
    "C1": (offline.make_vectorizer, _svc(1.0)),
    "C2": (offline.make_vectorizer, _svc(2.0)),
    "words13": (_vectorizer(words=(1, 3)), offline.make_classifier),
    "chars36": (_vectorizer(chars=(3, 6)), offline.make_classifier),
    "uncalibrated": (offline.make_vectorizer, _uncalibrated),
    "logreg": (offline.make_vectorizer, _logreg),
}


def cross_validate(name: str, seeds: int) -> None:
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    make_vectorizer, make_classifier = VARIANTS[name]
    rows = offline.shipped_examples()  # the training file only, sorted
    texts = [offline.model_text(e.subject, e.description) for e in rows]
    started = time.perf_counter()
    scores: dict[str, list[float]] = {"category": [], "priority": []}
    for field in scores:
        labels = np.array([getattr(e, field) for e in rows])
        for seed in range(seeds):
            right = 0
            for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(texts, labels):
                vectorizer = make_vectorizer()
                model = make_classifier().fit(vectorizer.fit_transform([texts[i] for i in train]), labels[train])
                right += int((model.predict(vectorizer.transform([texts[i] for i in test])) == labels[test]).sum())
            scores[field].append(right / len(rows))
    line = " ".join(
        f"{field}={statistics.mean(values):.4f} ({' '.join(f'{v:.3f}' for v in values)})"
        for field, values in scores.items()
    )
    print(f"{name:13s} n={len(rows)} {line} [{time.perf_counter() - started:.0f} s]", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="*", metavar="VARIANT", help=", ".join(VARIANTS))
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    unknown = [name for name in args.variants if name not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    warnings.filterwarnings("ignore", category=FutureWarning)
    for name in args.variants or ["shipped"]:
        cross_validate(name, args.seeds)


if __name__ == "__main__":
    main()

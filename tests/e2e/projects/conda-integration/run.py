"""A student's entry point that installs a ZenML integration first, as ZenML's examples do, then runs."""

from __future__ import annotations

import os
import subprocess
from importlib.metadata import version

from sklearn.datasets import load_wine
from sklearn.tree import DecisionTreeClassifier
from zenml import pipeline, step

WATCHED = ("zenml", "mlflow", "scikit-learn", "opentelemetry-sdk", "numpy")


@step
def fit() -> float:
    features, target = load_wine(return_X_y=True)
    return float(DecisionTreeClassifier(max_depth=3, random_state=0).fit(features, target).score(features, target))


def conda() -> None:
    fit()


# Pipeline and artifact names are unique per ZenML project, across users: each test student gets their own
# pipeline, and the artifact is unnamed (ZenML names it after the pipeline and the step).
conda_pipeline = pipeline(name=f"conda_{os.environ.get('MLOPS_USER', 'local')}", enable_cache=False)(conda)


if __name__ == "__main__":
    before = {name: version(name) for name in WATCHED}
    subprocess.run(["zenml", "integration", "install", "sklearn", "-y"], check=True)
    after = {name: version(name) for name in WATCHED}
    print(f"INTEGRATION-INSTALL {'kept the pins' if before == after else f'moved {before} -> {after}'}")
    run = conda_pipeline()
    print(f"STUDENT-PIPELINE {run.name} {run.status}")

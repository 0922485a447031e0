"""A student's ZenML project as ZenML's starter writes one: load, train, evaluate with scikit-learn."""

from __future__ import annotations

import os
from importlib.metadata import version

import pandas as pd
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from tabulate import tabulate
from zenml import pipeline, step


@step
def load() -> pd.DataFrame:
    return load_iris(as_frame=True).frame


@step
def train_and_score(data: pd.DataFrame) -> float:
    train, test = train_test_split(data, test_size=0.3, random_state=0, stratify=data["target"])
    model = LogisticRegression(max_iter=300).fit(train.drop(columns="target"), train["target"])
    return float(model.score(test.drop(columns="target"), test["target"]))


def starter() -> None:
    train_and_score(load())


# Pipeline and artifact names are unique per ZenML project, across users: each test student gets their own
# pipeline, and the artifacts are unnamed (ZenML names them after the pipeline and the step).
starter_pipeline = pipeline(name=f"starter_{os.environ.get('MLOPS_USER', 'local')}", enable_cache=False)(starter)


if __name__ == "__main__":
    run = starter_pipeline()
    accuracy = run.steps["train_and_score"].outputs["output"][0].load()
    packages = [(name, version(name)) for name in ("zenml", "mlflow", "scikit-learn", "PyMySQL", "tabulate")]
    print(tabulate(packages, headers=["package", "version"]))
    print(f"STUDENT-PIPELINE {run.name} {run.status} accuracy={accuracy:.2f}")

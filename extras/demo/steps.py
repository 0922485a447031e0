"""The steps of the demo pipeline: load a data set that ships with scikit-learn, split it, train, evaluate."""

from __future__ import annotations

from typing import Annotated

import mlflow
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from zenml import step
from zenml.client import Client

TARGET = "target"
# Each person's MLflow registry is their own schema, so a fixed name cannot collide with anyone else's.
REGISTERED_MODEL = "breast-cancer-classifier"

# The stack decides where runs are tracked: the server stack's MLflow tracker in CI, none on a bare
# local stack (the steps then train without tracking).
_tracker = Client().active_stack.experiment_tracker
TRACKER = _tracker.name if _tracker else None


@step
def load_data() -> Annotated[pd.DataFrame, "dataset"]:
    """The Wisconsin breast cancer data set (569 rows, 30 features), bundled with scikit-learn."""
    return load_breast_cancer(as_frame=True).frame


@step
def split_data(
    dataset: pd.DataFrame, test_size: float, random_state: int
) -> tuple[Annotated[pd.DataFrame, "train"], Annotated[pd.DataFrame, "test"]]:
    train, test = train_test_split(dataset, test_size=test_size, random_state=random_state, stratify=dataset[TARGET])
    return train, test


@step(experiment_tracker=TRACKER)
def train_model(train: pd.DataFrame, c: float, max_iter: int) -> Annotated[Pipeline, "model"]:
    """Fit a scaled logistic regression; MLflow's autologging records it and registers the model."""
    if TRACKER:
        mlflow.sklearn.autolog(registered_model_name=REGISTERED_MODEL)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
    model.fit(train.drop(columns=TARGET), train[TARGET])
    return model


@step(experiment_tracker=TRACKER)
def evaluate_model(model: Pipeline, test: pd.DataFrame) -> Annotated[dict[str, float], "test_metrics"]:
    features, labels = test.drop(columns=TARGET), test[TARGET]
    predicted = model.predict(features)
    metrics = {
        "test_accuracy": float(accuracy_score(labels, predicted)),
        "test_f1": float(f1_score(labels, predicted)),
        "test_roc_auc": float(roc_auc_score(labels, model.predict_proba(features)[:, 1])),
    }
    if TRACKER:
        mlflow.log_metrics(metrics)
    print(f"test metrics: {metrics}")
    return metrics

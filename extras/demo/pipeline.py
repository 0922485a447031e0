"""The demo's ZenML pipeline."""

from __future__ import annotations

from steps import evaluate_model, load_data, split_data, train_model
from zenml import pipeline


@pipeline(enable_cache=True)
def training_pipeline(test_size: float = 0.25, random_state: int = 42, c: float = 1.0, max_iter: int = 500) -> None:
    """Load, split, train, evaluate. Unchanged code, data and parameters: every step comes from ZenML's cache."""
    dataset = load_data()
    train, test = split_data(dataset, test_size=test_size, random_state=random_state)
    model = train_model(train, c=c, max_iter=max_iter)
    evaluate_model(model, test)

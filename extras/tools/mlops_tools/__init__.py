"""The user tools of an onprem.mlops server: the MLflow UI on one's own machine and the three scenarios' stacks."""

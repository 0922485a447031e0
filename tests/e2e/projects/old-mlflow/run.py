"""Never runs: the job stops at the dependencies."""

raise SystemExit("the install step should have refused mlflow<3")

"""Python run inside the job image by the integration tests that need an MLflow schema of an older revision."""

# Builds a schema with MLflow's own Alembic migrations, stopped STEPS_BACK revisions before the head: what an
# older MLflow left. Logs in as root (MLOPS_DB_PASSWORD, from the environment, never argv) to
# MLOPS_DB_HOST (default: the database's name on the services' network); prints the revision it stopped at.
OLD_SCHEMA = """
import os, sqlalchemy
from alembic import command
from alembic.script import ScriptDirectory
from mlflow.store.db.utils import _get_alembic_config
from mlflow.store.tracking.dbmodels.initial_models import Base
url = sqlalchemy.URL.create("mysql+pymysql", username="root", password=os.environ["MLOPS_DB_PASSWORD"],
                            host=os.environ.get("MLOPS_DB_HOST", "database"), port=3306,
                            database=os.environ["SCHEMA"])
engine = sqlalchemy.create_engine(url)
config = _get_alembic_config(url.render_as_string(hide_password=False))
target = list(ScriptDirectory.from_config(config).walk_revisions())[int(os.environ["STEPS_BACK"])].revision
Base.metadata.create_all(engine)
with engine.begin() as connection:
    config.attributes["connection"] = connection
    command.upgrade(config, target)
print(target)
"""

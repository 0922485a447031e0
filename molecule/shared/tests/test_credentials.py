"""Generated credentials are private, complete, and unchanged by later runs."""

from __future__ import annotations

import stat

EXPECTED = {
    "database_root_password",
    "database_zenml_password",
    "minio_root_password",
    "minio_runner_cache_secret_key",
    "zenml_admin_password",
    "zenml_jwt_secret_key",
    "zenml_secrets_encryption_key",
}


def test_every_secret_generated_once_and_private(credentials_dir):
    directory = credentials_dir / "server"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert {path.name for path in directory.iterdir()} >= EXPECTED
    for name in EXPECTED:
        secret = directory / name
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        assert len(secret.read_text(encoding="utf-8").strip()) >= 32


def test_secrets_unchanged_by_the_second_run(credentials_dir):
    runs = (credentials_dir / "converge-checksums.log").read_text(encoding="utf-8").split()
    assert len(runs) >= 2, "converge and idempotence should both have recorded the credentials"
    assert len(set(runs)) == 1

#!/usr/bin/env bash
# Print "upstream" when the production images are present or can be pulled, "local" otherwise.
# Used by `make deploy` (MLOPS_IMAGE_SOURCE=auto) to fall back to the images `make images` builds.
set -uo pipefail
images=(
  docker.io/library/mysql:8.4
  docker.io/alpine/minio:RELEASE.2025-10-15T17-29-55Z
  docker.io/zenmldocker/zenml-server:0.98.0
)
for image in "${images[@]}"; do
  if ! docker image inspect "$image" >/dev/null 2>&1 \
      && ! timeout 120 docker pull -q "$image" >/dev/null 2>&1; then
    echo local
    exit 0
  fi
done
echo upstream

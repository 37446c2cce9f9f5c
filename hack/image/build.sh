#!/usr/bin/env bash
# Build the kubescim image from this repository: one command, tagged with the package
# version (the chart's default image tag).
#
#   hack/image/build.sh                 # ghcr.io/kubescim/kubescim:<version>
#   IMAGE=registry.example/kubescim hack/image/build.sh
#   hack/image/build.sh --pull          # extra arguments go to `docker build`
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/pyproject.toml" | head -n1)"
IMAGE="${IMAGE:-ghcr.io/kubescim/kubescim}"
TAG="${TAG:-$VERSION}"

if ! command -v docker >/dev/null; then
    echo "build.sh: docker is not installed" >&2
    exit 2
fi
docker build \
    --label "org.opencontainers.image.version=$VERSION" \
    --label "org.opencontainers.image.source=https://github.com/kubescim/kubescim" \
    -t "$IMAGE:$TAG" "$@" "$ROOT"
echo "$IMAGE:$TAG"

# syntax=docker/dockerfile:1
# The kubescim image: the SCIM server (`kubescim serve`) and the operator
# (`kubescim-operator`), both from one install. Build with `hack/image/build.sh`.
#
# Reproducible from the repository: everything installed comes from this source tree
# and PyPI within the version ranges of pyproject.toml; pin the base image by digest
# (--build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:...) for a bit-identical base.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY scim_server ./scim_server
COPY operator ./operator
# A virtualenv copied whole into the runtime stage; .pyc files are compiled here, since
# the runtime's root filesystem is read-only.
RUN python -m venv /opt/kubescim \
    && /opt/kubescim/bin/pip install ".[postgres,kubernetes,operator]" \
    && /opt/kubescim/bin/pip uninstall --yes pip setuptools \
    && /opt/kubescim/bin/python -m compileall -q /opt/kubescim

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/kubescim/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
RUN groupadd --system --gid 10001 kubescim \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin kubescim
COPY --from=build /opt/kubescim /opt/kubescim
# Numeric, so the kubelet can check runAsNonRoot without reading /etc/passwd.
USER 10001:10001
WORKDIR /tmp
EXPOSE 8080 8081
# The chart sets the command per container: `kubescim serve` or `kubescim-operator`.
CMD ["kubescim", "serve", "--bind", "0.0.0.0:8080"]

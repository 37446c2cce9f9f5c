#!/usr/bin/env bash
# End to end on kind, one command: create a kind cluster, build the image and load it,
# install ingress-nginx and the chart, apply examples/, run an identity provider's
# request sequence through the Ingress with the issued token, and check the directory's
# status columns (`kubectl get sd`).
#
#   hack/e2e/run.sh                      # needs docker (running), kind, kubectl, helm, python3
#   KUBESCIM_E2E_KEEP=1 hack/e2e/run.sh  # keep the cluster afterwards (kind delete cluster --name kubescim-e2e)
#
# Exit 77 (and a line starting "SKIP:") when a tool is missing or Docker is not running.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CLUSTER="${KUBESCIM_E2E_CLUSTER:-kubescim-e2e}"
HTTPS_PORT="${KUBESCIM_E2E_HTTPS_PORT:-18443}"
INGRESS_NGINX="${KUBESCIM_E2E_INGRESS_NGINX:-controller-v1.12.1}"
IMAGE="kubescim-e2e/kubescim"
TAG="e2e"
RELEASE_NS="kubescim-system"
TENANT_NS="acme"
PYTHON="${PYTHON:-python3}"

skip() { echo "SKIP: $*"; exit 77; }
step() { printf '==> %s\n' "$*" >&2; }

missing=()
for tool in docker kind kubectl helm "$PYTHON"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[[ ${#missing[@]} -eq 0 ]] || skip "not installed: ${missing[*]} (the e2e suite needs docker, kind, kubectl, helm and python3)"
docker info >/dev/null 2>&1 || skip "the Docker daemon is not reachable (docker info failed)"

KUBECONFIG="$(mktemp -t kubescim-e2e-kubeconfig.XXXXXX)"
export KUBECONFIG
cleanup() {
    if [[ "${KUBESCIM_E2E_KEEP:-0}" != "1" ]]; then
        kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
        rm -f "$KUBECONFIG"
    else
        echo "kept: kind cluster $CLUSTER (KUBECONFIG=$KUBECONFIG)" >&2
    fi
}
trap cleanup EXIT

step "kind cluster $CLUSTER (ingress on https://127.0.0.1:$HTTPS_PORT)"
kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
sed "s/@HTTPS_PORT@/$HTTPS_PORT/" "$ROOT/hack/e2e/kind.yaml" | kind create cluster --name "$CLUSTER" --config - --wait 120s

step "image $IMAGE:$TAG"
IMAGE="$IMAGE" TAG="$TAG" "$ROOT/hack/image/build.sh" >/dev/null
kind load docker-image --name "$CLUSTER" "$IMAGE:$TAG"

step "ingress-nginx $INGRESS_NGINX"
kubectl apply -f "https://raw.githubusercontent.com/kubernetes/ingress-nginx/$INGRESS_NGINX/deploy/static/provider/kind/deploy.yaml"
kubectl wait -n ingress-nginx --for=condition=Available deployment/ingress-nginx-controller --timeout=180s

step "chart charts/kubescim into $RELEASE_NS"
helm install kubescim "$ROOT/charts/kubescim" -n "$RELEASE_NS" --create-namespace --wait --timeout 5m \
    --set image.repository="$IMAGE" --set image.tag="$TAG" --set image.pullPolicy=Never \
    --set operator.ingress.className=nginx --set operator.resyncSeconds=5 \
    --set networkPolicy.enabled=true
kubectl get -n "$RELEASE_NS" deployments,pods

step "examples/ into namespace $TENANT_NS"
kubectl create namespace "$TENANT_NS"
kubectl apply -n "$TENANT_NS" -f "$ROOT/examples/"
kubectl wait -n "$TENANT_NS" --for=condition=Ready scimdirectory --all --timeout=120s

step "identity provider sequence through the Ingress"
cd "$ROOT"
"$PYTHON" -m tests.e2e.idp_sequence --namespace "$TENANT_NS" --directory acme-okta --https-port "$HTTPS_PORT"
kubectl get -n "$TENANT_NS" sd -o wide
echo "e2e: passed"

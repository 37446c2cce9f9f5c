#!/usr/bin/env bash
# Build (once per machine) the Kubernetes control plane the test suite runs:
# etcd, kube-apiserver and kube-controller-manager, from the Go modules pinned in
# hack/controlplane/go.mod and hack/controlplane/etcd/go.mod.
#
#   bash hack/controlplane/build.sh            build if needed; last stdout line = bin dir
#   bash hack/controlplane/build.sh --locate   print the bin dir if built, else exit 3
#
# Binaries go to ${KUBESCIM_CONTROLPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubescim/controlplane}/<key>/,
# where <key> names the versions, the platform and a digest of the pins and the recipe.
# Progress goes to stderr. Go is a build tool only; nothing here ships.
set -euo pipefail

# Keep these equal to the go.mod files (checked below). To move to a new release, see
# docs/testing-control-plane.md.
KUBERNETES_VERSION=v1.37.2
ETCD_VERSION=v3.7.3
# Bump when the way the binaries are built changes (flags, ldflags), to force a rebuild.
RECIPE=1

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mode=build
case "${1:-}" in
  "") ;;
  --locate) mode=locate ;;
  -h | --help) sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "build.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
esac

log() { printf '[controlplane %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

pinned() {  # pinned <go.mod> <module>: the version a go.mod requires
  awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1"
}
[[ "$(pinned "$here/go.mod" k8s.io/kubernetes)" == "$KUBERNETES_VERSION" ]] ||
  die "hack/controlplane/go.mod does not pin k8s.io/kubernetes $KUBERNETES_VERSION; keep build.sh and go.mod in step"
[[ "$(pinned "$here/etcd/go.mod" go.etcd.io/etcd/server/v3)" == "$ETCD_VERSION" ]] ||
  die "hack/controlplane/etcd/go.mod does not pin go.etcd.io/etcd/server/v3 $ETCD_VERSION; keep build.sh and go.mod in step"

platform="$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m)"
digest=$(cat "$here/go.mod" "$here/go.sum" "$here/etcd/go.mod" "$here/etcd/go.sum" <(echo "recipe=$RECIPE") |
  sha256sum | cut -c1-10)
cache_root=${KUBESCIM_CONTROLPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubescim/controlplane}
bin_dir="$cache_root/kubernetes-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-$platform-$digest"
binaries=(etcd kube-apiserver kube-controller-manager)

complete() {
  [[ -f "$bin_dir/.complete" ]] || return 1
  local b
  for b in "${binaries[@]}"; do [[ -x "$bin_dir/$b" ]] || return 1; done
}

if complete; then
  echo "$bin_dir"
  exit 0
fi
if [[ $mode == locate ]]; then
  echo "control-plane binaries not built: $bin_dir is missing" >&2
  exit 3
fi

command -v go >/dev/null || die "'go' not found on PATH; Go >= 1.26 is needed to build the control plane"
mkdir -p "$cache_root"
# One build at a time per machine: a second caller waits, then finds the binaries.
exec 9>"$cache_root/.build.lock"
if ! flock -n 9; then
  log "another build is running; waiting for it ($cache_root/.build.lock)"
  flock 9
fi
if complete; then
  echo "$bin_dir"
  exit 0
fi

# Linking kube-apiserver peaks at a few GiB; compile at most one package per core and per
# ~2 GiB of available memory, and link one binary at a time.
cores=$(nproc 2>/dev/null || echo 2)
mem_gib=$(awk '/^MemAvailable:/ { print int($2 / 1048576) }' /proc/meminfo 2>/dev/null || echo 4)
jobs=${KUBESCIM_CONTROLPLANE_BUILD_JOBS:-$(( cores < mem_gib / 2 ? cores : mem_gib / 2 ))}
(( jobs >= 1 )) || jobs=1
export GOMAXPROCS=${GOMAXPROCS:-$cores}
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-trimpath -buildvcs=false -mod=readonly"

staging="$bin_dir.partial.$$"
heartbeat=""
trap 'rm -rf "$staging"; [[ -z $heartbeat ]] || kill "$heartbeat" 2>/dev/null || true' EXIT
rm -rf "$staging" && mkdir -p "$staging"

log "Go $(go env GOVERSION), cache $bin_dir"
log "downloading modules (first run: ~750 MiB into $(go env GOMODCACHE))"
(cd "$here" && go mod download) && (cd "$here/etcd" && go mod download) ||
  die "go mod download failed (is the Go module proxy reachable? GOPROXY=$(go env GOPROXY))"

# Stamp the release into /version the way Kubernetes' own build does (hack/lib/version.sh);
# buildDate is the release's timestamp, so rebuilding gives the same bytes.
minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
released=$(cd "$here" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' k8s.io/kubernetes)
kube_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  kube_ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
  kube_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$released"
done

build() {  # build <module dir> <output name> <package> <ldflags>
  local started=$SECONDS status=0
  log "building $2 ($3) with -p $jobs; the first build takes several minutes"
  (
    nap=""
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    while :; do
      sleep 60 & nap=$!
      wait "$nap"
      log "... still building $2 ($((SECONDS - started))s)"
    done
  ) &
  heartbeat=$!
  (cd "$1" && go build -p "$jobs" -ldflags="$4" -o "$staging/$2" "$3") || status=$?
  kill "$heartbeat" 2>/dev/null || true
  wait "$heartbeat" 2>/dev/null || true
  heartbeat=""
  ((status == 0)) || die "go build of $3 failed (exit $status; see the errors above)"
  log "built $2 in $((SECONDS - started))s"
}


build "$here/etcd" etcd go.etcd.io/etcd/server/v3 "-s -w"
build "$here" kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$kube_ldflags"
build "$here" kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$kube_ldflags"

touch "$staging/.complete"
rm -rf "$bin_dir"
mv "$staging" "$bin_dir"
log "done: $(du -sh "$bin_dir" | cut -f1) in $bin_dir"
echo "$bin_dir"

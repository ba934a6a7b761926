#!/bin/bash
# Captures workloads in dev mode and after each kind of outside change, from the test cluster.
set -e
cd "$(dirname "$0")/../../../.."
export PATH=$PWD/node_modules/.bin:$PATH KUBECONFIG=${KUBECONFIG_TEST:?}
NS=revert-capture
KUBECTL=${KUBECTL:?the kubectl binary of test/support/binaries.ts}
K="$KUBECTL -n $NS"
OUT=test/unit/core/revert-captures
DEV="node dist/kubectl-dev.cjs"
$KUBECTL create ns $NS
$K apply -f $OUT/original.yaml >/dev/null
$K rollout status deploy/web --timeout=60s >/dev/null
save() { # name
  since=$($K get secret web-deployment-dev-sync -o jsonpath='{.metadata.annotations.dev\.kubectl-dev\.io/since}' 2>/dev/null || true)
  $K get deploy web -o json --show-managed-fields | jq --arg since "$since" '{since: $since, object: .}' > $OUT/$1.json
}
start() { $DEV start deploy/web -n $NS --no-sync --timeout 90s >/dev/null; sleep 1.2; }
start; save in-dev-mode
$K apply -f $OUT/original.yaml >/dev/null; save client-side-apply
$DEV end deploy/web -n $NS --force >/dev/null
start; $K rollout undo deploy/web >/dev/null; save rollout-undo
$K label deploy web dev.kubectl-dev.io/dev-mode- >/dev/null; $K delete secret web-deployment-dev-sync >/dev/null
start; $K patch deploy web --type=json --field-manager=helm -p '[{"op":"remove","path":"/spec/template/spec/containers/1"}]' >/dev/null; save json-patch-removes-sidecar
$DEV end deploy/web -n $NS --force >/dev/null
start; $K apply --server-side --force-conflicts --field-manager=kustomize-controller -f $OUT/original.yaml >/dev/null; save server-side-apply
$DEV end deploy/web -n $NS --force >/dev/null
start; $K replace -f $OUT/original.yaml >/dev/null; save replace
$DEV end deploy/web -n $NS >/dev/null || $DEV end deploy/web -n $NS --force
start; since=$($K get secret web-deployment-dev-sync -o jsonpath='{.metadata.annotations.dev\.kubectl-dev\.io/since}')
$DEV end deploy/web -n $NS >/dev/null
$K get deploy web -o json --show-managed-fields | jq --arg since "$since" '{since: $since, object: .}' > $OUT/ended.json
$KUBECTL delete ns $NS --wait=false

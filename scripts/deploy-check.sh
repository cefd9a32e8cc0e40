#!/usr/bin/env bash
# make deploy-check: lint and validate every deployment file offline, with the tools the dev
# extras (hadolint, docker compose, kubernetes-validate, actionlint) and Debian (nginx, promtool,
# kubectl) provide. Each check prints one line; the first failure stops the script.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() { printf '%-28s' "$1"; }

step "hadolint Dockerfile"
"$BIN/hadolint" Dockerfile
echo ok

step "docker compose config"
# The required secrets get placeholder values here; a real deployment reads them from .env.
JWT_SECRET_KEY=check POSTGRES_PASSWORD=check RABBITMQ_PASSWORD=check GRAFANA_ADMIN_PASSWORD=check \
  "$BIN/docker-compose" -f compose.yaml --profile mongo config -q
echo ok

for overlay in deploy/k8s/overlays/*/; do
  step "kustomize $(basename "$overlay")"
  kubectl kustomize "$overlay" > "$tmp/manifests.yaml"
  "$BIN/kubernetes-validate" --strict --quiet "$tmp/manifests.yaml"
  echo ok
done

step "nginx -t web.conf"
# `api` resolves only inside Compose/Kubernetes; nginx -t resolves upstream names, so the test
# copy points the upstream at loopback. The frontend root needs to exist, not to hold a build.
sed -e 's/server api:8000/server 127.0.0.1:8000/' -e "s#/tmp/nginx#$tmp/nginx#g" \
  -e "s#pid /tmp/nginx.pid#pid $tmp/nginx.pid#" deploy/nginx/web.conf > "$tmp/web.conf"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
"$NGINX" -q -t -p "$tmp" -e stderr -c "$tmp/web.conf"
echo ok

step "promtool check config"
promtool check config --syntax-only deploy/prometheus/prometheus.yml > /dev/null
promtool check rules deploy/prometheus/rules/*.yml > /dev/null
echo ok

step "promtool test rules"
promtool test rules deploy/prometheus/tests/*.yml > /dev/null
echo ok

step "grafana dashboards (JSON)"
for dashboard in deploy/grafana/dashboards/*.json; do
  "$BIN/python" -m json.tool "$dashboard" > /dev/null
done
echo ok

step "actionlint"
"$BIN/actionlint" .github/workflows/*.yml
echo ok

#!/usr/bin/env bash
# Installs the peer for the kv benchmark: etcd from Debian (etcd-server). Needs root (or sudo) and apt.
set -euo pipefail
if command -v etcd >/dev/null 2>&1; then echo "etcd present: $(etcd --version | head -1)"; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  exec sudo apt-get install -y etcd-server
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server; }
# The package enables a system service on a default port; the benchmark starts its own members.
(systemctl disable --now etcd >/dev/null 2>&1 || true)
etcd --version | head -1

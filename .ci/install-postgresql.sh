#!/usr/bin/env bash
# PostgreSQL for the cluster tests (tests/test_cluster.py start their own server from these
# binaries, as the `postgres` user, on a private socket folder and a free loopback port).
# CI runs as root on a fresh Debian machine: install Debian's server package if it is missing,
# and stop the cluster the package starts on its own (the tests need only the binaries).
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-postgresql: not root; install Debian's postgresql package to run the PostgreSQL tests" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends postgresql >/dev/null
if command -v pg_lsclusters >/dev/null; then
    pg_lsclusters --no-header | while read -r version name _; do
        pg_ctlcluster "$version" "$name" stop 2>/dev/null || true
    done
fi

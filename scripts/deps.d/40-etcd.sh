#!/usr/bin/env bash
# etcd for the etcd source's tests (internal/source/etcd, internal/etcdtest):
# a real single-member etcd started on free loopback ports. Debian's
# package may start a system etcd on 2379; tests never use it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
need etcd:etcd-server
etcd --version | head -1

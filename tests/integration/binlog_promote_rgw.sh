#!/usr/bin/env bash
# binlog_promote on a real S3 server (Ceph RGW), encrypted: the link of the
# new history is created where absent there as the pieces are.
PROMOTE_STORE=rgw . "$(dirname "$0")/binlog_promote.sh"

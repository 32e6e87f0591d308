/*
 * bretention: the binary log side of prune ([mysql] binlog = archive).
 *
 * Binary logs are kept back to the file of the oldest dump prune keeps (ok
 * or damaged) that records a binary log position, from that file's first
 * byte (a replay reads its header), and deleted behind it: the pieces of
 * the files of the same base name with a smaller sequence number.  The
 * decision is taken on the manifests (runner/wal/retention's helpers), not
 * on the index; nothing is deleted while a backup is in progress, nor
 * when no kept dump records a position, nor when one records a position
 * that does not read.
 */
#ifndef KB_BRETENTION_H
#define KB_BRETENTION_H

#include <stddef.h>

#include "runner/catalog/catalog.h"

/* After the backups were pruned; returns the number of failures. */
size_t	 binlog_prune(struct catalog *, int dry_run, size_t *deleted, size_t *planned);

#endif

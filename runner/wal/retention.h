/*
 * retention: the WAL side of prune.
 *
 * WAL is kept back to the first segment of the oldest base backup prune
 * keeps (any timeline: no retained backup needs a segment before the one
 * it starts in) and deleted behind it.  As for backups, the decision is
 * taken on the manifests, not on the index: every retained physical
 * backup's manifest is read again (catalog_refresh) before anything is
 * deleted, and only when the index says there is something to delete.
 * Nothing is deleted while a backup is in progress (its start is not known
 * yet), nor beside a damaged backup whose manifest does not read, nor when
 * no physical backup is kept.  History files are kept.
 * A MariaDB/MySQL definition with binlog = archive prunes its binary log
 * archive instead (runner/binlog/bretention.h), with the same helpers.
 */
#ifndef KB_WAL_RETENTION_H
#define KB_WAL_RETENTION_H

#include <stddef.h>

#include "runner/catalog/catalog.h"

/* Reads the manifest of every entry kept() says is kept again; -1 after logging. */
int	 retention_refresh(struct catalog *, int (*kept)(const struct catalog_entry *));
/* 1 while a backup is in progress. */
int	 retention_running(const struct catalog *);
/*
 * 1, after logging msg, while prune keeps a damaged backup whose manifest
 * does not read: what of the archive it needs is not known, so none goes.
 */
int	 retention_unreadable(const struct catalog *, const char *msg);
/* Deletes keys[0..n) in batches; 1 after logging a failure. */
size_t	 retention_remove(struct catalog *, char **keys, size_t n, size_t *deleted);

/* After the backups were pruned; returns the number of failures. */
size_t	 wal_prune(struct catalog *, int dry_run, size_t *deleted, size_t *planned);

#endif

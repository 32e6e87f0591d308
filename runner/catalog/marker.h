/*
 * marker: the object a running backup keeps in storage (BASE/running/ID.json,
 * kbackup-format(5)), so that a second writer on the same definition -- on
 * another host, or with another workdir -- is detected instead of merged,
 * and prune never takes the data of a job in progress.
 *
 * It names its job (backup ID, runner id, host, pid, start) and is
 * rewritten every MARKER_HEARTBEAT seconds while the job runs; one not
 * rewritten for MARKER_STALE seconds, on the store's clock, belongs to a
 * job that died -- as does one dated more than MARKER_STALE ahead of that
 * clock, which was set back since: a live job would have rewritten it
 * within a heartbeat, and waiting for the clock to catch up would stop
 * every backup of the definition for as long as it was ahead.  A runner holding its definition's lock knows that a
 * marker with its own runner id is a leftover of its own (the lock is per
 * runner id), and removes it at once.
 */
#ifndef KB_MARKER_H
#define KB_MARKER_H

#include <stddef.h>
#include <time.h>

#include "runner/catalog/backup_id.h"

#define MARKER_HEARTBEAT	60	/* seconds */
#define MARKER_STALE		600
#define MARKER_JSON_MAX		4096

struct marker {
	char	id[BACKUP_ID_MAX];
	char	runner_id[13];
	char	host[256];
	long	pid;
	time_t	started;
};

/* 1 if a marker the store dates mtime is stale at the store's time now. */
int	 marker_stale(time_t now, time_t mtime);
/* The marker's JSON text (free it). */
char	*marker_to_text(const struct marker *);
int	 marker_parse(const char *buf, size_t len, struct marker *, char *err,
	    size_t errlen);
/* "runner 3fa94c01b2aa on host db1, pid 4242, since 2026-11-24T03:00:00Z" */
void	 marker_describe(const struct marker *, char *buf, size_t len);

#endif

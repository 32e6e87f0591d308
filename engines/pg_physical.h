/*
 * pg_physical: [postgres] method = physical, the base backup half of
 * point-in-time recovery (the WAL half is runner/wal/).
 *
 * The base backup is pg_basebackup's tar of the whole cluster on its
 * stdout (-D - -Ft -X none: no WAL in it, the archive has that), streamed
 * through the pipeline with no copy on disk.  pg_basebackup rather than
 * BASE_BACKUP through libpq: it is the server's own client, chosen by the
 * server's version (pg_client.h) as pg_dump is, it speaks every version's
 * variant of the command, and it adds the server's backup_manifest to the
 * tar.  Reading the tar as it passes gives backup_label (start LSN,
 * timeline) and the manifest's WAL-Ranges (stop LSN).  Clusters with
 * tablespaces of their own are refused before anything is written: their
 * files are outside the data directory, and a restore would have to map
 * them.
 *
 * The details a physical backup's manifest records (record.h) are written
 * and read here, in one place: runner/wal/ reads them to find the WAL a
 * backup needs.
 */
#ifndef KB_PG_PHYSICAL_H
#define KB_PG_PHYSICAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/config.h"
#include "engines/engine.h"
#include "engines/pg_wal.h"

struct pg_physical_details {
	char		 server_version[32];	/* "15.18" */
	int		 server_version_num;	/* 150018 */
	uint64_t	 sysid;			/* database system identifier */
	uint64_t	 segsize;		/* wal_segment_size */
	uint32_t	 timeline;		/* where the backup started */
	uint32_t	 stop_timeline;
	uint64_t	 start_lsn;		/* the checkpoint's redo point */
	uint64_t	 stop_lsn;		/* consistent from here on */
	uint64_t	 first_segno;		/* on timeline: the first segment it needs */
	uint64_t	 last_segno;		/* on stop_timeline: the last */
	char		 wal_method[8];		/* push | stream */
};

/* 1 if a manifest's details are a physical backup's. */
int	 pg_physical_is(const json_t *details);
json_t	*pg_physical_details_json(const struct pg_physical_details *);
/* -1 with what is wrong (also for details that are not a physical backup's). */
int	 pg_physical_details_parse(const json_t *, struct pg_physical_details *, char *err,
	    size_t errlen);

#endif

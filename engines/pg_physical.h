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

struct child_args;
struct memfile;

/*
 * What the physical method borrows from engines/postgres.c: the client
 * chosen for the server, the connection options, the password memfile the
 * tools inherit, psql, and a place in the job for its own state.
 */
struct pg_tools {
	/* The client for the server (asked in database) and the password memfile. */
	int		 (*prepare)(struct engine_job *, const char *database, char *err,
			    size_t errlen);
	void		 (*tool)(struct engine_job *, struct child_args *, const char *tool);
	void		 (*conn_args)(struct engine_job *, struct child_args *);
	void		 (*env)(struct engine_job *, struct child_args *);
	struct memfile	*(*pass)(struct engine_job *);
	int		 (*psql)(struct engine_job *, const char *database, const char *script,
			    const char *const *vars, char **out, char *err, size_t errlen);
	void		**(*state)(struct engine_job *);
};

/* 1 if [postgres] method = physical. */
int	 pg_physical_on(const struct config_section *);
/* The checks across the section's keys of the physical method. */
int	 pg_physical_validate(const struct config_section_schema *,
	    const struct config_section *, char *err, size_t errlen);
/* A replication slot name: [a-z0-9_], 1 to 63 characters. */
int	 pg_physical_check_slot(const char *, char *err, size_t errlen);

/*
 * The engine operations of the method (engine.h), with postgres.c's tools.
 * backup_end() leaves the details in job->details; restore_begin() unpacks
 * into job->data_dir, and restore_end() checks the files there against the
 * backup's backup_manifest with pg_verifybackup.  end() releases the
 * method's state whatever happened (postgres.c's end calls it).
 */
int	 pg_physical_backup_begin(struct engine_job *, const struct pg_tools *, int *fd,
	    char *err, size_t errlen);
int	 pg_physical_restore_begin(struct engine_job *, const struct pg_tools *, int *fd,
	    char *err, size_t errlen);
int	 pg_physical_end(struct engine_job *, const struct pg_tools *, int aborted,
	    char *err, size_t errlen);
int	 pg_physical_check(struct engine_job *, const struct pg_tools *, char *err,
	    size_t errlen);

#endif

/*
 * bpitr: point-in-time recovery of MariaDB/MySQL from a dump and the
 * binary log archive ([mysql] binlog = archive): the binary log side of
 * verify and list (what each dump can be replayed to), and of restore --at.
 *
 * A dump whose manifest records its binary log position (engines/my_binlog)
 * is replayable from that position along the run of archived pieces that
 * starts with its file (barchive.h).  Its window is any second from the
 * dump's end to the second before the newest archived event of the run:
 * every event of those seconds is archived (the newest event's own second
 * may not be whole yet).  restore --at T takes the dump restore.c picked
 * (the newest finished at or before T), checks that T is in its window,
 * before anything is written, then restores the dump and replays the
 * archived files from its position through mariadb-binlog
 * --stop-datetime=T+1s into the client: every event of second T and before.
 * restore --position FILE:POS (the dump the request names, latest by
 * default) replays the events that start before that position, read with
 * --stop-position from the files up to FILE.  restore --gtid SET (MariaDB)
 * is such a position: the plan fetches the files of the run one by one
 * and reads in them where the GTID position stands (bgtid.h), up to the
 * file it stands in, before anything is written; the replay reads them.
 * A run that goes on into the log of another server (a failover, blink.h)
 * is replayed in segments, one decoder a history, into one client: each
 * history's events up to where the next one's link takes over.
 */
#ifndef KB_BPITR_H
#define KB_BPITR_H

#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "engines/my_binlog.h"
#include "runner/binlog/barchive.h"
#include "runner/binlog/bgtid.h"
#include "runner/catalog/catalog.h"
#include "runner/cmd/jobs.h"
#include "runner/runner.h"

struct binlog_plan {
	int			 active;	/* a binlog replay follows the dump */
	time_t			 at;		/* --at, or 0 */
	struct my_binpos	 stop;		/* --position: replay the events before it */
	const char		*gtid;		/* --gtid, which stop stands for */
	char			*dir;		/* --gtid: the files fetched, or NULL */
	char			**files;
	uint32_t		*fhist;		/* the history of each of files */
	uint32_t		 hist;		/* the dump's history (blink.h) */
	uint32_t		 stop_hist;	/* --position, --gtid: the history of stop */
	/*
	 * Where the replay enters the history after the dump's, when the dump
	 * stands past where its own history hands over (0: the link's start).
	 */
	uint64_t		 enter;
	struct bgtid_walk	*walk;		/* --gtid, while they are fetched */
	struct my_binpos	 pos;
	const char		*id;		/* the dump's */
	struct binlog_archive	 ar;
	struct binlog_run	 run;
};

/* 1 when [mysql] binlog = archive: verify, list and restore --at read the archive. */
int	 binlog_pitr_on(const struct runner *);
/*
 * verify and list: each dump's window, and what is missing; with read
 * (verify), every piece read back too.  The problems found.
 */
size_t	 binlog_report(struct runner *, struct location *, const struct catalog *, FILE *,
	    int read);
/*
 * check: whether the server writes the binary log the archive in loc holds
 * (the writer's server id of its newest piece); a line on out, -1 when not.
 */
int	 binlog_check_server(struct runner *, struct location *, FILE *);
/* list --json: per dump ID its window (as wal_report_json()'s objects). */
json_t	*binlog_report_json(struct runner *, struct location *, const struct catalog *);
/*
 * restore --at: whether a dump's window starts at or before at on the
 * binary log's clock (the server's, which may run ahead of this host's);
 * 1 for a dump without a binary log position.
 */
int	 binlog_dump_serves(const struct backup_record *, time_t at);
/*
 * restore: the plan for o's dump and req (active only with --at,
 * --position or --gtid and binlog = archive), its files fetched and checked
 * unless req is a dry run; EXIT_OK, else EXIT_JOB or EXIT_USAGE after
 * logging why the target cannot be had (nothing is written yet).
 */
int	 binlog_pitr_plan(struct runner *, const struct restore_request *, struct opened *,
	    struct binlog_plan *);
void	 binlog_pitr_print(const struct binlog_plan *, FILE *);
/* After the dump: the replay into database (NULL: the definition's). */
int	 binlog_pitr_replay(struct runner *, struct binlog_plan *, const char *database,
	    char *err, size_t errlen);
void	 binlog_pitr_free(struct binlog_plan *);

#endif

/*
 * chain: what a location's WAL archive can recover, for verify, list,
 * restore and prune.
 *
 * Opened with one listing of BASE/wal/, archive.json and the timeline
 * history files (a few small GETs).  A timeline's history gives its path:
 * which timeline each segment number is read from, as recovery reads it
 * (PostgreSQL's XLogFileReadAnyTLI: from a timeline's switch point on, the
 * child's file; the switch segment itself is the child's).
 *
 * A base backup is restorable on the newest timeline whose path passes
 * through the backup's timelines after the backup became consistent.  From
 * its first segment the path is followed while every segment is there: that
 * run is the WAL it can replay.  Backups whose runs end at the same segment
 * share a recoverable window: any time from the oldest one's end to the
 * last commit (abort, restore point) in the run, read from the heads of the
 * run's last segments (walobj.h); a time after that commit would need WAL
 * the archive does not hold.  A run that stops before the newest segment
 * of its path ends at a gap, and the first missing segment is named.
 */
#ifndef KB_WAL_CHAIN_H
#define KB_WAL_CHAIN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "engines/pg_physical.h"
#include "engines/pg_wal.h"
#include "runner/catalog/backup_id.h"
#include "runner/runner.h"
#include "runner/stream/keys.h"
#include "runner/wal/archive.h"

/* One archived file, as listed. */
struct wal_entry {
	char			 name[PG_WAL_NAME_MAX];
	struct pg_wal_name	 n;
	char			*key;
	time_t			 mtime;
	uint64_t		 size;
};

/* A line of a history file: timeline parent ended at end, its child began there. */
struct wal_fork {
	uint32_t	parent;
	uint64_t	end;
};

struct wal_history {
	uint32_t	 tli;
	struct wal_fork	*forks;		/* oldest ancestor first */
	size_t		 n;
};

/* Segments [from, to) are read from timeline tli. */
struct wal_path_part {
	uint32_t	tli;
	uint64_t	from;
	uint64_t	to;		/* UINT64_MAX: the target timeline's own, open-ended */
};

struct wal_path {
	uint32_t		 target;
	struct wal_path_part	*v;
	size_t			 n;
};

/* A base backup of the catalog, with its physical details. */
struct wal_base {
	char				id[BACKUP_ID_MAX];
	time_t				finished;
	struct pg_physical_details	d;
};

struct wal_window {
	uint32_t	timeline;	/* the target timeline */
	time_t		from;		/* the oldest backup's end */
	time_t		to;		/* the last commit, in whole seconds (>= from) */
	int64_t		to_us;		/* the last commit, Unix microseconds; 0: none found */
	uint64_t	first_segno;	/* the oldest backup's first segment */
	uint64_t	last_segno;	/* the run's last segment */
	char		gap[PG_WAL_NAME_MAX];	/* the missing segment that ends it, or "" */
	uint64_t	missing;	/* further segments missing up to the newest */
	size_t		nbases;
};

struct wal_archive {
	struct location		*loc;
	const struct keyring	*kr;
	char			*base;
	int			 have_identity;
	struct wal_identity	 id;
	struct wal_entry	*v;		/* segments first, by (tli, segno); then the rest */
	size_t			 n;
	size_t			 nsegs;		/* v[0..nsegs): complete segments */
	struct wal_history	*hist;
	size_t			 nhist;
	uint32_t		 max_tli;
	size_t			 head_reads;
};

/* A history file's text (modified) of timeline tli; h->forks to free. */
int	 wal_history_parse(char *text, uint32_t tli, struct wal_history *h, char *err,
	    size_t errlen);

/* segsize: used when the archive has no archive.json yet (0: the default). */
int	 wal_archive_open(struct location *, const char *base, const struct keyring *,
	    uint64_t segsize, struct wal_archive *, char *err, size_t errlen);
void	 wal_archive_close(struct wal_archive *);

/* The path of a target timeline; -1 when its history file is missing or does not parse. */
int	 wal_path_of(const struct wal_archive *, uint32_t target, struct wal_path *,
	    char *err, size_t errlen);
void	 wal_path_free(struct wal_path *);
uint32_t wal_path_tli(const struct wal_path *, uint64_t segno);
/* 1 if (tli, segno) is archived. */
int	 wal_has_segment(const struct wal_archive *, uint32_t tli, uint64_t segno);

/* The newest timeline a base is restorable on (0: none), and its path. */
uint32_t wal_base_timeline(const struct wal_archive *, const struct wal_base *,
	    struct wal_path *);
/*
 * The recoverable windows of the bases (those restorable on some timeline),
 * oldest first; *bad gets the bases whose own WAL (first to last segment)
 * is incomplete, with the first missing segment in why (caller frees both).
 */
struct wal_bad_base {
	const struct wal_base	*base;
	char			 missing[PG_WAL_NAME_MAX];
};
int	 wal_windows(struct wal_archive *, const struct wal_base *, size_t nbases,
	    struct wal_window **, size_t *nwin, struct wal_bad_base **bad, size_t *nbad,
	    char *err, size_t errlen);
/* Which of those windows base i replays in: win_of[i] (SIZE_MAX: none). */
void	 wal_windows_of(const struct wal_archive *, const struct wal_base *, size_t nbases,
	    const struct wal_window *, size_t nwin, size_t *win_of);

enum wal_target_kind {
	WAL_TARGET_TIME,	/* --at */
	WAL_TARGET_LSN,		/* --lsn */
	WAL_TARGET_LATEST,	/* latest: the end of the archive */
	WAL_TARGET_BACKUP	/* an ID alone: the backup, consistent */
};

struct wal_target {
	enum wal_target_kind	 kind;
	time_t			 at;
	uint64_t		 lsn;
	const char		*id;	/* a base backup to start from, or NULL: the best */
};

enum wal_recovery {
	WAL_RECOVER_TIME,	/* recovery_target_time */
	WAL_RECOVER_LSN,	/* recovery_target_lsn */
	WAL_RECOVER_IMMEDIATE,	/* recovery_target = 'immediate' */
	WAL_RECOVER_END		/* no target: all the run holds */
};

struct wal_plan {
	const struct wal_base	*base;
	uint32_t		 timeline;	/* recovery_target_timeline */
	enum wal_recovery	 recovery;
	time_t			 at;
	uint64_t		 lsn;
	struct wal_window	 window;	/* of the run it replays */
};

/*
 * The base backup and recovery a target asks for; -1 with why it cannot be
 * had: outside every window (they are listed), past a gap (the segment is
 * named), a backup that is not a physical one or lacks its own WAL.
 */
int	 wal_plan_target(struct wal_archive *, const struct wal_base *, size_t nbases,
	    const struct wal_target *, struct wal_plan *, char *err, size_t errlen);

/* "any time from 2026-11-24T03:00:00Z to 2026-11-24T09:12:31Z" into buf. */
void	 wal_window_text(const struct wal_window *, char *buf, size_t len);

#endif

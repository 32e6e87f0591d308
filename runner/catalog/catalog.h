/*
 * catalog: the one model of what a location holds for a definition, and the
 * owner of every decision that keeps or deletes a backup.
 *
 * A job opens the catalog of each location once: one listing of BASE/ and
 * the label index (labels.json, a cache of the manifests keyed by each
 * manifest's stamp).  A manifest is read only when the index does not hold
 * it as listed, or when the job needs the truth about that backup (restore,
 * verify, a deletion); the same catalog then serves backup, prune, metrics
 * and the daemon.
 *
 * Every backup ID found is an entry in one of these states:
 *   ok       its manifest checks out and every part is there, whole
 *   damaged  its manifest cannot be read or does not check out, or a part
 *            is missing or of the wrong size: listed, reported, never
 *            deleted unless asked (prune --damaged)
 *   foreign  its manifest names another definition or another ID than the
 *            key it is stored under: reported once, otherwise ignored
 *            (never listed, verified or deleted)
 *   running  a job in progress: a live marker (marker.h)
 *   orphan   data without a manifest and without a live marker: what an
 *            interrupted run left; removed once older than orphan_grace
 *            on the store's clock
 *
 * The invariants of kbackup-format(5) are enforced here, each in one place:
 * objects are created only where absent; nothing is deleted on the word of
 * the index; data without a manifest goes only by age; a live marker
 * protects its job's data; a future-dated backup is never taken as latest.
 */
#ifndef KB_CATALOG_H
#define KB_CATALOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "runner/catalog/labels.h"
#include "runner/catalog/marker.h"
#include "runner/catalog/record.h"
#include "runner/runner.h"

enum catalog_state {
	CATALOG_OK,
	CATALOG_DAMAGED,
	CATALOG_FOREIGN,
	CATALOG_RUNNING,
	CATALOG_ORPHAN,
	CATALOG_GONE		/* deleted by this job */
};

/* One object of a backup, as the listing (or a HEAD) showed it. */
struct catalog_object {
	char		*key;
	uint64_t	 size;
	time_t		 mtime;		/* store's clock */
	char		*stamp;
};

struct catalog_entry {
	char			 id[BACKUP_ID_MAX];
	time_t			 id_time;
	enum catalog_state	 state;
	char			 why[384];	/* damaged, foreign: what is wrong */
	struct backup_record	 rec;		/* valid when have_rec */
	int			 have_rec;
	int			 rec_checked;	/* read from its manifest by this job */
	int			 future;	/* dated more than clock_skew ahead */
	time_t			 effective;	/* finished, or the store's time if future */
	int			 has_manifest;
	struct catalog_object	 manifest;
	struct catalog_object	*objects;	/* the rest under backups/ID/ */
	size_t			 nobjects;
	int			 has_marker;
	int			 marker_live;
	int			 marker_ours;	/* our runner id */
	struct catalog_object	 marker_obj;
};

/* A stale upload begun under BASE/ (listed by catalog_sweep). */
struct catalog_stats {
	size_t	listings;
	size_t	manifest_reads;
	size_t	index_reads;
};

struct catalog {
	struct runner		*r;
	struct location		*loc;
	struct catalog_entry	*v;		/* by ID */
	size_t			 n;
	time_t			 now;		/* this host's clock when opened */
	time_t			 store_now;	/* the store's clock when opened */
	int64_t			 skew;		/* [backup] clock_skew */
	int64_t			 grace;		/* [backup] orphan_grace */
	int			 index_dirty;
	int			 listed;	/* opened with a listing */
	/*
	 * mode = single: the entries are single/ID/ and the one manifest
	 * single/manifest.json names one of them; there is no index.
	 */
	int			 single;
	size_t			 nforeign;
	struct catalog_stats	 stats;
};

#define CATALOG_READ_ALL	0x1	/* read every manifest, trust no cache */

int	 catalog_open(struct runner *, struct location *, int flags, struct catalog *,
	    char *err, size_t errlen);
/*
 * Only the backup id, without a listing: its manifest and a HEAD of each of
 * its parts.  The entry may be damaged or foreign (-1 only when storage fails).
 */
int	 catalog_open_one(struct runner *, struct location *, const char *id,
	    struct catalog *, char *err, size_t errlen);
void	 catalog_close(struct catalog *);
/* A storage_put of this runner: its temporaries carry its id (see catalog_sweep). */
void	 catalog_put_init(const struct runner *, struct storage_put *);

struct catalog_entry *catalog_find(const struct catalog *, const char *id);
const char *catalog_state_name(enum catalog_state);
/* Counts of entries by state, and of the future-dated ok ones. */
size_t	 catalog_count(const struct catalog *, enum catalog_state);
size_t	 catalog_count_future(const struct catalog *);

/*
 * Reads e's manifest from storage (once a job) and checks it and its parts
 * again: the truth for restore, verify and deletion.  Updates e's state.
 */
int	 catalog_refresh(struct catalog *, struct catalog_entry *, char *err, size_t errlen);
/*
 * Whether e's manifest is still stored as e read it: 1 yes, 0 no (deleted,
 * or in mode = single replaced by the next backup's), -1 storage failed.  A
 * prune deletes the manifest before the data, so a job that read e and then
 * found a part missing tells a backup pruned meanwhile (by another runner:
 * verify takes no lock) from a damaged one.
 */
int	 catalog_still_there(struct catalog *, const struct catalog_entry *, char *err,
	    size_t errlen);

/*
 * The backup a request names, its manifest read from storage.  which: an
 * ID, "latest" or NULL; at: --at, parsed (0: none).  latest and --at take
 * the newest ok backup that is not future-dated (and finished at or before
 * at); a damaged backup newer than that one is refused with a message that
 * names it, unless skip_damaged (then a warning names it).  Future-dated
 * backups passed over are named in a warning.
 */
struct catalog_entry *catalog_select(struct catalog *, const char *which, time_t at,
	    int skip_damaged, char *err, size_t errlen);
/*
 * What a request needs a backup to hold (restore --only NAME of a backup
 * of several databases): latest and --at take the newest backup that
 * holds it; holds() reads a record.  what names it in messages.
 */
struct catalog_filter {
	int		(*holds)(const struct backup_record *, void *arg);
	void		 *arg;
	const char	 *what;		/* "database shop" */
};
/* catalog_select() among the backups that pass f (an ID is the caller's to check). */
struct catalog_entry *catalog_select_filtered(struct catalog *, const char *which,
	    time_t at, int skip_damaged, const struct catalog_filter *f, char *err,
	    size_t errlen);
/* The newest ok backup that is not future-dated, or NULL (metrics, daemon). */
const struct catalog_entry *catalog_latest(const struct catalog *);

/* The labels view of the ok backups (future-dated ones at their store time). */
void	 catalog_labels(const struct catalog *, struct labels_index *);

/*
 * A new backup: writes its marker (created only where absent) after
 * checking that no other live marker is there, and again after; -1 naming
 * the other job when there is one.  catalog_job_heartbeat() rewrites it
 * when MARKER_HEARTBEAT has passed; catalog_job_end() removes it.
 */
int	 catalog_job_begin(struct catalog *, const struct marker *, char *err,
	    size_t errlen);
void	 catalog_job_heartbeat(struct catalog *, const struct marker *);
void	 catalog_job_end(struct catalog *, const struct marker *);

/*
 * Commits rec (retained mode): writes its manifest, created only where
 * absent, then checks by HEAD that the manifest and every part are there
 * and whole, adds the entry and writes the index.  0 means the backup is
 * listed and complete.  Where the location locks, every part is first
 * retained until the latest expiry of rec's labels, and the manifest is
 * written with that date.
 */
int	 catalog_commit(struct catalog *, const struct backup_record *, char *err,
	    size_t errlen);

/*
 * Deletes a backup, the manifest first and then every object of it, after
 * catalog_refresh() (the decision is the caller's, on the manifest read
 * here).  Never an entry that is running or foreign.  An Object Lock that
 * refuses (or, where the location locks, any part still locked: then the
 * manifest stays too) fails with *locked_until set to its date.
 */
int	 catalog_delete(struct catalog *, struct catalog_entry *, time_t *locked_until,
	    char *err, size_t errlen);
/*
 * Where the location locks (Object Lock): every object of e retained until
 * then at least (a date is extended, never shortened).
 */
int	 catalog_retain(struct catalog *, const struct catalog_entry *, time_t until,
	    char *err, size_t errlen);
int	 catalog_save_index(struct catalog *, char *err, size_t errlen);

/*
 * What interrupted runs left.  CATALOG_SWEEP_OWN: markers of this runner
 * and what their jobs left, at once -- only under the lock, which tells
 * that those jobs are dead.  CATALOG_SWEEP_AGED: data without a manifest
 * and unfinished uploads older than orphan_grace on the store's clock that
 * no live marker protects, and stale markers.  dry_run prints instead.
 * Returns the number of failures; deleted and planned are added to.
 */
#define CATALOG_SWEEP_OWN	0x1
#define CATALOG_SWEEP_AGED	0x2
size_t	 catalog_sweep(struct catalog *, int flags, int dry_run, size_t *deleted,
	    size_t *planned);

/*
 * mode = single: single/manifest.json (replaced by each backup, so it is
 * outside the catalog's invariants); -1 with *missing set when there is none.
 */
int	 catalog_single_read(struct runner *, struct location *, struct backup_record *,
	    int *missing, char *err, size_t errlen);
/* The IDs with data under single/, the current one among them; free with catalog_ids_free(). */
int	 catalog_single_data(struct runner *, struct location *, char ***ids, size_t *n,
	    char *err, size_t errlen);
void	 catalog_ids_free(char **ids, size_t n);

#endif

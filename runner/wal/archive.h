/*
 * archive: the WAL archive of a definition in a location (kbackup-format(5),
 * "WAL archive"), and the two operations on one of its files.
 *
 *   BASE/wal/archive.json                 the database system it belongs to
 *   BASE/wal/TTTTTTTT/SEGMENT             a segment, .partial, .backup file
 *   BASE/wal/TTTTTTTT.history             a timeline's history
 *
 * Every file is one object in the container format whose plain stream is
 * the head of walobj.h and the file's bytes, created only where absent: a
 * file is stored once and never replaced.  Storing one that is there
 * already succeeds when the stored one has the same SHA-256 and size (what
 * PostgreSQL's retry after a lost answer does) and fails, changing nothing,
 * when it differs.  A segment of another database system than archive.json
 * names is refused before anything is stored.
 */
#ifndef KB_WAL_ARCHIVE_H
#define KB_WAL_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "runner/runner.h"
#include "runner/stream/keys.h"
#include "runner/wal/walobj.h"
#include "runner/wal/walseg.h"

struct wal_identity {
	uint64_t	sysid;
	uint64_t	segsize;
};

/* How files are stored: [backup] compression and compression_threads. */
struct wal_store_opts {
	int	zstd;
	int	level;
	int	threads;
};

char	*wal_prefix(const char *base);			/* BASE/wal/ */
/* The key of a file; name must be one pg_wal_name_parse() takes. */
char	*wal_key(const char *base, const char *name);
char	*wal_identity_key(const char *base);

/* The store options of the runner's [backup]. */
void	 wal_store_opts(const struct runner *, struct wal_store_opts *);

int	 wal_identity_read(struct storage *, const char *base, struct wal_identity *,
	    int *missing, char *err, size_t errlen);
/*
 * Reads archive.json, or creates it from want where there is none; -1 when
 * they differ.  cache (may be NULL): a file remembering the locations found
 * to hold want (wal-push's state directory): archive.json is created once
 * and never replaced, so that where one of them has none now, the store is
 * not the one it was, and nothing is created (-1).
 */
int	 wal_identity_check(struct location *, const char *base,
	    const struct wal_identity *want, const char *cache, char *err,
	    size_t errlen);
/* The cache of wal_identity_check() in a state directory (wal-push's, the daemon's). */
char	*wal_identity_cache(const char *state_dir);
/* -1 when the archive's identity have is not want; what names want's owner. */
int	 wal_identity_same(const struct location *, const struct wal_identity *have,
	    const struct wal_identity *want, const char *what, char *err, size_t errlen);

/*
 * Reads the file at fd (from its start) once: its SHA-256, size and time,
 * and for a segment its identity (checked against its name) and commit
 * times.  name is its file name.  info (may be NULL) gets the segment scan.
 */
int	 wal_file_scan(int fd, const char *name, struct walobj_head *,
	    struct walseg_info *info, char *err, size_t errlen);
/*
 * One archived object: head, then fd's bytes to EOF (size: a hint), in the
 * container format under key, created only where absent (*exists: there
 * was one, and nothing was stored).  What WAL and binary log archives
 * (runner/binlog) store their files with.
 */
int	 archive_put(struct location *, const struct keyring *, const char *key,
	    const void *head, size_t headlen, int fd, uint64_t size,
	    const struct wal_store_opts *, int *exists, char *err, size_t errlen);
/* Stores the scanned file at fd under its key; *same: it was there with the same bytes. */
int	 wal_store(struct location *, const char *base, const struct keyring *, int fd,
	    const struct walobj_head *, const struct wal_store_opts *, int *same,
	    char *err, size_t errlen);

/* The head of a stored file, reading only its first frame. */
int	 wal_read_head(struct location *, const struct keyring *, const char *key,
	    const char *name, struct walobj_head *, int *missing, char *err, size_t errlen);
/*
 * Fetches the file name into out_fd (a new, empty regular file), checking
 * every frame, the head's name, size and SHA-256, and for a segment its
 * identity; *missing when it is not in the archive.  h (may be NULL) gets
 * the head.  out_fd -1: verify's read, every frame, the head's name and the
 * size checked and the bytes discarded (the frames' tags cover them).
 */
int	 wal_fetch(struct location *, const struct keyring *, const char *base,
	    const char *name, int out_fd, struct walobj_head *h, int *missing, char *err,
	    size_t errlen);

#endif

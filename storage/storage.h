/*
 * storage: the interface every storage backend implements.
 *
 * A location holds objects under keys relative to its root (the backend adds
 * its own prefix or directory): NAMESPACE/NAME/backups/ID/data and so on, as
 * kbackup-format(5) describes.  Uploads stream: put_begin, any number of
 * put_write, then put_commit (the object appears whole, or not at all) or
 * put_abort (nothing is left).  Reads push the object's bytes to a callback.
 *
 * What the catalog relies on, and every backend must give:
 *   - a committed object is read back whole (read-after-write);
 *   - a put with if_absent never replaces an existing object: it fails with
 *     *exists set (a conditional create where the store has one, a check
 *     just before the commit otherwise);
 *   - list shows every committed object with a stamp that changes whenever
 *     the object is written again, and times on the store's own clock, the
 *     clock now() reads: ages are measured there, never against the
 *     runner's clock, which may be wrong;
 *   - an upload that never committed is invisible to list and get, and is
 *     found again by list_uploads until abort_upload (or put_abort) ends it.
 *
 * Adding a backend: one file in storage/ (or a folder, as storage/s3/)
 * defining a struct storage_ops, and one line in storage/registry.c.
 */
#ifndef KB_STORAGE_H
#define KB_STORAGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/config.h"

struct storage_ops;
struct storage_upload;

#define STORAGE_STAMP_MAX	96

struct storage {
	const struct storage_ops	*ops;
	char				*name;	/* section label: "default" for [storage] */
	void				*priv;
	/*
	 * Set by open(): new objects take storage_put.retain_until and retain()
	 * extends it (S3 with object_lock = governance or compliance).
	 */
	int				 object_lock;
};

struct storage_object {
	const char	*key;
	uint64_t	 size;
	time_t		 mtime;		/* when it was written, on the store's clock */
	const char	*stamp;		/* changes when the object is rewritten; "" if unknown */
};

/* What head() tells of one object. */
struct storage_stat {
	uint64_t	 size;
	time_t		 mtime;
	char		 stamp[STORAGE_STAMP_MAX];
	time_t		 retain_until;	/* Object Lock retain-until date; 0: none */
};

struct storage_put {
	uint64_t	 size_hint;	/* expected size, 0 if unknown (S3 sizes its parts with it) */
	int		 if_absent;	/* never replace an existing object */
	/*
	 * Object Lock: keep it undeletable until then (the store's clock); 0: no.
	 * Ignored by a location without a lock (object_lock = off, the file type).
	 */
	time_t		 retain_until;
	/*
	 * Who writes (the runner's id; NULL: nobody in particular), for a
	 * backend whose temporaries have names (file): list_pending reports
	 * it, so that a runner holding its lock removes what its killed runs
	 * left at once instead of after orphan_grace.
	 */
	const char	*owner;
};

/* What probe() finds out about the store of a location. */
struct storage_probe {
	int		 object_lock;	/* the bucket has Object Lock enabled: 1, 0; -1 unknown */
	char		 lock_default[48];	/* its default retention ("GOVERNANCE 30d"), "" */
	int		 versioning;	/* 1 enabled, 2 suspended, 0 never; -1 unknown */
	int		 list_pending;	/* list_pending works: 1, 0 the store lacks it; -1 unknown */
	char		 credentials[32];	/* where the credentials came from, "" if none */
};

/* An upload that was begun and never committed nor aborted. */
struct storage_pending {
	const char	*key;
	const char	*upload_id;	/* the backend's handle, for abort_upload */
	time_t		 initiated;	/* on the store's clock */
	const char	*owner;		/* storage_put.owner, NULL if not known */
};

/* Return 0 to go on, -1 to stop (and make the call fail). */
typedef int (*storage_list_fn)(const struct storage_object *, void *arg);
typedef int (*storage_pending_fn)(const struct storage_pending *, void *arg);
typedef int (*storage_read_fn)(const void *buf, size_t len, void *arg, char *err,
    size_t errlen);

/*
 * What the config schema and the operator need of a backend, apart from
 * what it does: the operator links these and none of the transfer code.
 */
struct storage_desc {
	const char		*type;		/* value of "type =" */
	const struct config_key	*keys;		/* keys only this type takes */
	/* Checks across keys; may be NULL. */
	int	(*validate)(const struct config_section_schema *,
		    const struct config_section *, char *err, size_t errlen);
};

struct storage_ops {
	const struct storage_desc *desc;

	int	(*open)(struct storage *, const struct config_section *, char *err,
		    size_t errlen);
	void	(*close)(struct storage *);
	/* "s3://bucket/prefix" or "file:///var/backups", for logs. */
	void	(*describe)(struct storage *, char *buf, size_t len);

	int	(*put_begin)(struct storage *, const char *key, const struct storage_put *,
		    struct storage_upload **, char *err, size_t errlen);
	int	(*put_write)(struct storage_upload *, const void *, size_t, char *err,
		    size_t errlen);
	/*
	 * Commits and frees the upload, whatever the result.  With if_absent,
	 * an existing object fails the commit with *exists = 1 (exists may be
	 * NULL) and is left as it was.
	 */
	int	(*put_commit)(struct storage_upload *, int *exists, char *err, size_t errlen);
	/* Aborts and frees: nothing of the object remains. */
	void	(*put_abort)(struct storage_upload *);

	/* Pushes the object's bytes from offset on; a missing key fails with *missing = 1. */
	int	(*get)(struct storage *, const char *key, uint64_t offset, storage_read_fn,
		    void *arg, int *missing, char *err, size_t errlen);
	/* Size, time and stamp of one object; a missing key fails with *missing = 1. */
	int	(*head)(struct storage *, const char *key, struct storage_stat *,
		    int *missing, char *err, size_t errlen);
	/*
	 * Every object whose key starts with prefix and, when start_after is
	 * not NULL, sorts after it (strcmp); in no particular order.
	 */
	int	(*list)(struct storage *, const char *prefix, const char *start_after,
		    storage_list_fn, void *arg, char *err, size_t errlen);
	/*
	 * Deletes keys; a key already gone is not an error.  A version a lock
	 * keeps (Object Lock, a bucket's default retention) is hidden instead,
	 * to go at its date: the key is gone for every other call.
	 */
	int	(*remove)(struct storage *, const char *const *keys, size_t n, char *err,
		    size_t errlen);
	/* The store's clock now (what list's and head's times are measured on). */
	int	(*now)(struct storage *, time_t *, char *err, size_t errlen);

	/*
	 * Uploads under prefix that were begun and never ended (may be NULL).
	 * A store that cannot list them fails with *unsupported = 1.
	 */
	int	(*list_pending)(struct storage *, const char *prefix, storage_pending_fn,
		    void *arg, int *unsupported, char *err, size_t errlen);
	int	(*abort_pending)(struct storage *, const char *key, const char *upload_id,
		    char *err, size_t errlen);

	/*
	 * Object Lock (may be NULL): extends key's retain-until date, never
	 * shortens it.  A location with object_lock = off does nothing.
	 */
	int	(*retain)(struct storage *, const char *key, time_t until, char *err,
		    size_t errlen);
	/*
	 * Object Lock (may be NULL: such a store has no locks, and remove() is
	 * the same): remove() that says when a lock refused.  Keys are removed
	 * in order, every version of each so that the space is freed; a key
	 * whose lock refuses the delete stops the call: -1, *locked_until set
	 * to its retain-until date (err says "locked until DATE").  On any other
	 * failure *locked_until is 0.
	 */
	int	(*remove_unless_locked)(struct storage *, const char *const *keys, size_t n,
		    time_t *locked_until, char *err, size_t errlen);
	/*
	 * For check (may be NULL): the store's features.  Fails when the
	 * location's config asks for one the store lacks (object_lock set on a
	 * bucket without Object Lock), err saying so; *probe is filled either way.
	 */
	int	(*probe)(struct storage *, struct storage_probe *, char *err, size_t errlen);
};

/* storage/registry.c */
extern const struct storage_desc *const storage_descs[];
extern const struct storage_ops *const storage_registry[];
const struct storage_ops *storage_find(const char *type);
const struct storage_desc *storage_desc_find(const char *type);
const char *storage_types(void);

/* storage/storage.c: helpers over any backend. */
int	 storage_open(const struct config_section *, struct storage **, char *err,
	    size_t errlen);
void	 storage_close(struct storage *);
/* put_begin, one put_write, put_commit; put may be NULL (replace, no hint). */
int	 storage_put_buffer(struct storage *, const char *key, const void *buf, size_t len,
	    const struct storage_put *put, int *exists, char *err, size_t errlen);
/* *missing is set to 1 (and -1 returned) when the key does not exist. */
int	 storage_get_buffer(struct storage *, const char *key, size_t max, char **buf,
	    size_t *len, int *missing, char *err, size_t errlen);
int	 storage_remove_one(struct storage *, const char *key, char *err, size_t errlen);
/*
 * remove_unless_locked() of one key where the backend has it, else
 * remove(): *locked_until is the date of the lock that refused (and -1
 * returned), 0 on any other outcome.
 */
int	 storage_remove_one_unless_locked(struct storage *, const char *key,
	    time_t *locked_until, char *err, size_t errlen);

#endif

/*
 * storage: the interface every storage backend implements.
 *
 * A location holds objects under keys relative to its root (the backend adds
 * its own prefix or directory): NAMESPACE/NAME/backups/ID/data and so on, as
 * kbackup-format(5) describes.  Uploads stream: put_begin, any number
 * of put_write, then put_commit (the object appears whole, or not at all) or
 * put_abort (nothing is left).  Reads push the object's bytes to a callback.
 *
 * Adding a backend: one file in storage/ defining a struct storage_ops, and
 * one line in storage/registry.c.
 */
#ifndef KB_STORAGE_H
#define KB_STORAGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/config.h"

struct storage_ops;
struct storage_upload;

struct storage {
	const struct storage_ops	*ops;
	char				*name;	/* section label: "default" for [storage] */
	void				*priv;
};

struct storage_object {
	const char	*key;
	uint64_t	 size;
	time_t		 mtime;
};

/* Return 0 to go on, -1 to stop (and make the call fail). */
typedef int (*storage_list_fn)(const struct storage_object *, void *arg);
typedef int (*storage_read_fn)(const void *buf, size_t len, void *arg, char *err,
    size_t errlen);

struct storage_ops {
	const char		*type;		/* value of "type =" */
	const struct config_key	*keys;		/* keys only this type takes */
	int	(*validate)(const struct config_section_schema *,
		    const struct config_section *, char *err, size_t errlen);

	int	(*open)(struct storage *, const struct config_section *, char *err,
		    size_t errlen);
	void	(*close)(struct storage *);
	/* "s3://bucket/prefix" or "file:///var/backups", for logs. */
	void	(*describe)(struct storage *, char *buf, size_t len);

	/* size_hint: expected object size, 0 if unknown (S3 sizes its parts with it). */
	int	(*put_begin)(struct storage *, const char *key, uint64_t size_hint,
		    struct storage_upload **, char *err, size_t errlen);
	int	(*put_write)(struct storage_upload *, const void *, size_t, char *err,
		    size_t errlen);
	/* Commits and frees the upload, whatever the result. */
	int	(*put_commit)(struct storage_upload *, char *err, size_t errlen);
	/* Aborts and frees: nothing of the object remains. */
	void	(*put_abort)(struct storage_upload *);

	/* Pushes the object's bytes from offset on; a missing key fails with ENOENT set in *missing. */
	int	(*get)(struct storage *, const char *key, uint64_t offset, storage_read_fn,
		    void *arg, int *missing, char *err, size_t errlen);
	/* Every object whose key starts with prefix, in no particular order. */
	int	(*list)(struct storage *, const char *prefix, storage_list_fn, void *arg,
		    char *err, size_t errlen);
	/* Deletes keys; a key already gone is not an error. */
	int	(*remove)(struct storage *, const char *const *keys, size_t n, char *err,
		    size_t errlen);
	/* Aborts unfinished uploads under prefix started before older_than; may be NULL. */
	int	(*sweep_uploads)(struct storage *, const char *prefix, time_t older_than,
		    char *err, size_t errlen);
};

/* storage/registry.c */
extern const struct storage_ops *const storage_registry[];
const struct storage_ops *storage_find(const char *type);
const char *storage_types(void);

/* storage/storage.c: helpers over any backend. */
int	 storage_open(const struct config_section *, struct storage **, char *err,
	    size_t errlen);
void	 storage_close(struct storage *);
int	 storage_put_buffer(struct storage *, const char *key, const void *buf, size_t len,
	    char *err, size_t errlen);
/* *missing is set to 1 (and -1 returned) when the key does not exist. */
int	 storage_get_buffer(struct storage *, const char *key, size_t max, char **buf,
	    size_t *len, int *missing, char *err, size_t errlen);

#endif

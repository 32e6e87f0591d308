/*
 * s3_lock: Object Lock and versions on S3.
 *
 * With object_lock = governance or compliance, PutObject and
 * CreateMultipartUpload carry x-amz-object-lock-mode and
 * x-amz-object-lock-retain-until-date (and a checksum, which S3 requires
 * there), and retain() extends a date with PutObjectRetention, never
 * shortening it.  A bucket with Object Lock is versioned: a plain
 * DeleteObject there only adds a delete marker and frees nothing, so
 * remove() deletes every version of each key (ListObjectVersions, then
 * DeleteObject?versionId=), and a version a lock keeps stops it with its
 * retain-until date.  An unversioned bucket (the common case, found out once
 * with GetBucketVersioning) gets DeleteObjects in batches of 1000, or one
 * DeleteObject per key from a store that answers 501 to DeleteObjects.
 * probe() tells check what the bucket has: Object Lock
 * (GetObjectLockConfiguration), versioning, ListMultipartUploads.
 */
#ifndef KB_S3_LOCK_H
#define KB_S3_LOCK_H

#include <stddef.h>
#include <time.h>

#include "storage/s3/s3_xfer.h"
#include "storage/storage.h"

/* The lock headers of a new object retained until then (nothing when off or 0). */
void	 s3_lock_headers(struct s3 *, struct s3_xfer *, time_t until);

/* remove_unless_locked() on an opened location; locked_until may be NULL. */
int	 s3_delete_keys(struct s3 *, const char *const *keys, size_t n, time_t *locked_until,
	    char *err, size_t errlen);
int	 s3_remove(struct storage *, const char *const *keys, size_t n, char *err,
	    size_t errlen);
int	 s3_remove_unless_locked(struct storage *, const char *const *keys, size_t n,
	    time_t *locked_until, char *err, size_t errlen);
int	 s3_retain(struct storage *, const char *key, time_t until, char *err,
	    size_t errlen);
int	 s3_probe(struct storage *, struct storage_probe *, char *err, size_t errlen);

#endif

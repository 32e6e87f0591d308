/*
 * s3_put: uploads to S3, the put_* operations of storage.h.
 *
 * An upload buffers one part: a stream that fits in it is one PutObject at
 * commit; a longer one becomes a multipart upload whose parts go out
 * concurrently through a curl multi handle while the caller produces the
 * next one.  Memory stays within the location's budget, part_size x
 * (parts_in_flight + 1): when parts grow (the expected size needs more than
 * 10,000 of them, or an unknown size passes 1000 parts of each size), fewer
 * go out at a time, down to one at a time with a single buffer; only a part
 * larger than the budget (objects of several hundred GiB with the defaults)
 * takes more, one part's worth.
 *
 * Every body carries x-amz-checksum-sha256 (checksum = sha256), which a
 * store that checks it refuses when the bytes differ, and which is compared
 * with the one the store answers.  if_absent sends If-None-Match: * on
 * PutObject and CompleteMultipartUpload (AWS honours it since 2024, Ceph
 * RGW 16 on PutObject only, s3rver not at all) after a HEAD just before,
 * which covers the stores that ignore it; a 412 PreconditionFailed means the
 * object exists.  A CompleteMultipartUpload whose answer was lost after the
 * store had finished is recognised by its retry's NoSuchUpload (or 412) and
 * a HEAD showing the multipart ETag computed from the parts'.
 */
#ifndef KB_S3_PUT_H
#define KB_S3_PUT_H

#include <stddef.h>

#include "storage/storage.h"

int	 s3_put_begin(struct storage *, const char *key, const struct storage_put *,
	    struct storage_upload **, char *err, size_t errlen);
int	 s3_put_write(struct storage_upload *, const void *, size_t, char *err,
	    size_t errlen);
int	 s3_put_commit(struct storage_upload *, int *exists, char *err, size_t errlen);
void	 s3_put_abort(struct storage_upload *);

#endif

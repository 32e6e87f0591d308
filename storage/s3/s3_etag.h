/*
 * s3_etag: the ETag S3 gives an object made by CompleteMultipartUpload.
 *
 * It is the MD5 of the parts' binary MD5s (their ETags as UploadPart
 * answered them) followed by "-" and the number of parts.  kbackup computes
 * it to recognise its own object when the answer to a Complete was lost.
 */
#ifndef KB_S3_ETAG_H
#define KB_S3_ETAG_H

#include <stddef.h>

/* Room for "\"" 32 hex "-" 5 digits "\"" and the NUL. */
#define S3_ETAG_LEN	48

/*
 * Writes the multipart ETag of n parts, quoted as S3 sends it, into out.
 * -1 when a part's ETag is not an MD5 (32 hex digits, quoted or not).
 */
int	 s3_etag_multipart(const char *const *parts, unsigned n, char *out, size_t outlen);

/* 1 when a and b are the same ETag, quoted or not. */
int	 s3_etag_same(const char *a, const char *b);

#endif

/*
 * s3_sign: AWS Signature Version 4, as S3 checks it.
 *
 * kbackup signs its requests here rather than with libcurl's
 * CURLOPT_AWS_SIGV4: libcurl 7.88 (Debian 12) sorts the signed headers by
 * "name:value" instead of by name, so a header whose name is a prefix of
 * another's (x-amz-server-side-encryption and
 * x-amz-server-side-encryption-aws-kms-key-id) is signed in the wrong order
 * and S3 answers 403.  A pure function over the request's parts, so that it
 * is tested against the examples of the AWS documentation.
 */
#ifndef KB_S3_SIGN_H
#define KB_S3_SIGN_H

#include <stddef.h>

struct s3_header {
	const char	*name;		/* lowercase */
	const char	*value;
};

struct s3_sign_req {
	const char		*method;
	const char		*path;		/* canonical: already URI-encoded */
	const char		*query;		/* canonical: sorted, encoded; "" when none */
	const struct s3_header	*headers;	/* every signed header, host included */
	size_t			 nheaders;
	const char		*payload_hash;	/* hex SHA-256, or UNSIGNED-PAYLOAD */
	const char		*amz_date;	/* 20130524T000000Z, also in the headers */
	const char		*region;
	const char		*service;	/* "s3", "sts" */
	const char		*access_key;
	const char		*secret_key;
};

/* The Authorization header's value, a new string. */
char	*s3_sign(const struct s3_sign_req *);

#endif

/*
 * s3_uri: the exact bytes of an S3 request's path and query string.
 *
 * libcurl 7.88 signs the path and the query exactly as written, so they are
 * built here already in canonical form: RFC 3986 unreserved characters kept,
 * everything else as uppercase %XX (keys keep their '/'), query parameters
 * sorted by name, value-less parameters written as "name=".
 */
#ifndef KB_S3_URI_H
#define KB_S3_URI_H

#include <stddef.h>

/* New string: s encoded; '/' is kept when keep_slash is set. */
char	*s3_uri_encode(const char *s, int keep_slash);

struct s3_query_param {
	char	*name;
	char	*value;		/* encoded */
};

struct s3_query {
	struct s3_query_param	*params;
	size_t			 n;
};

void	 s3_query_init(struct s3_query *);
/* value may be NULL or "" (written as "name="); it is encoded here. */
void	 s3_query_add(struct s3_query *, const char *name, const char *value);
/* New string "a=1&b=x%2Fy" sorted by name then value, "" when empty. */
char	*s3_query_string(struct s3_query *);
void	 s3_query_free(struct s3_query *);

#endif

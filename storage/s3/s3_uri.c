/*
 * s3_uri: canonical (signed-as-written) paths and query strings for S3.
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "storage/s3/s3_uri.h"

static int
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

char *
s3_uri_encode(const char *s, int keep_slash)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;
	char			*out, *o;

	out = o = xmalloc(strlen(s) * 3 + 1);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (unreserved(*p) || (keep_slash && *p == '/'))
			*o++ = *p;
		else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 0xf];
		}
	}
	*o = '\0';
	return out;
}

void
s3_query_init(struct s3_query *q)
{
	q->params = NULL;
	q->n = 0;
}

void
s3_query_add(struct s3_query *q, const char *name, const char *value)
{
	q->params = xreallocarray(q->params, q->n + 1, sizeof(*q->params));
	q->params[q->n].name = s3_uri_encode(name, 0);
	q->params[q->n].value = s3_uri_encode(value == NULL ? "" : value, 0);
	q->n++;
}

static int
param_cmp(const void *a, const void *b)
{
	const struct s3_query_param	*pa = a, *pb = b;
	int				 c;

	if ((c = strcmp(pa->name, pb->name)) != 0)
		return c;
	return strcmp(pa->value, pb->value);
}

char *
s3_query_string(struct s3_query *q)
{
	size_t	 i, len = 1;
	char	*out;

	if (q->n > 1)
		qsort(q->params, q->n, sizeof(*q->params), param_cmp);
	for (i = 0; i < q->n; i++)
		len += strlen(q->params[i].name) + strlen(q->params[i].value) + 2;
	out = xmalloc(len);
	out[0] = '\0';
	for (i = 0; i < q->n; i++) {
		if (i > 0)
			strlcat(out, "&", len);
		strlcat(out, q->params[i].name, len);
		strlcat(out, "=", len);
		strlcat(out, q->params[i].value, len);
	}
	return out;
}

void
s3_query_free(struct s3_query *q)
{
	size_t	i;

	for (i = 0; i < q->n; i++) {
		free(q->params[i].name);
		free(q->params[i].value);
	}
	free(q->params);
	s3_query_init(q);
}

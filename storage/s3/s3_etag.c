/*
 * s3_etag: the multipart ETag computed from the parts' ETags.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "common/util.h"
#include "storage/s3/s3_etag.h"

/* The ETag without its double quotes: *len characters from the result. */
static const char *
unquote(const char *s, size_t *len)
{
	size_t	n = strlen(s);

	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		*len = n - 2;
		return s + 1;
	}
	*len = n;
	return s;
}

/* A part's ETag as the 16 bytes of its MD5; -1 if it is something else. */
static int
part_md5(const char *etag, unsigned char md[16])
{
	const char	*s;
	size_t		 len;

	s = unquote(etag, &len);
	if (len != 32)
		return -1;
	return hex_decode(s, 16, md);
}

int
s3_etag_multipart(const char *const *parts, unsigned n, char *out, size_t outlen)
{
	EVP_MD_CTX	*ctx;
	unsigned char	 md[16];
	char		 hex[33];
	unsigned	 i, mdlen = sizeof(md);
	int		 r = 0;

	if (n == 0 || (ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
	for (i = 0; i < n && r == 0; i++) {
		if (parts[i] == NULL || part_md5(parts[i], md) == -1)
			r = -1;
		else
			EVP_DigestUpdate(ctx, md, sizeof(md));
	}
	if (r == 0) {
		EVP_DigestFinal_ex(ctx, md, &mdlen);
		hex_encode(md, sizeof(md), hex);
		if ((size_t)snprintf(out, outlen, "\"%s-%u\"", hex, n) >= outlen)
			r = -1;
	}
	EVP_MD_CTX_free(ctx);
	return r;
}

int
s3_etag_same(const char *a, const char *b)
{
	const char	*sa, *sb;
	size_t		 la, lb;

	sa = unquote(a, &la);
	sb = unquote(b, &lb);
	return la > 0 && la == lb && strncasecmp(sa, sb, la) == 0;
}

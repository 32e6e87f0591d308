/*
 * s3_sign: the canonical request, the string to sign and the HMAC chain of
 * Signature Version 4 (AWS General Reference, "Create a signed AWS API
 * request").
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/util.h"
#include "storage/s3/s3_http.h"
#include "storage/s3/s3_sign.h"

static void
sb_add(struct s3_buf *b, const char *s, size_t n)
{
	s3_buf_append(b, s, n, 0);
}

static void
sb_str(struct s3_buf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* A header value as signed: outer blanks trimmed, inner runs of blanks as one space. */
static void
sb_value(struct s3_buf *b, const char *v)
{
	int	blank = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v != '\0'; v++) {
		if (*v == ' ' || *v == '\t') {
			blank = 1;
			continue;
		}
		if (blank)
			sb_add(b, " ", 1);
		blank = 0;
		sb_add(b, v, 1);
	}
}

static int
header_cmp(const void *a, const void *b)
{
	const struct s3_header	*x = a, *y = b;

	return strcmp(x->name, y->name);
}

static void
sha256_hex(const char *s, size_t len, char out[65])
{
	unsigned char	md[32];
	unsigned int	mdlen = sizeof(md);

	EVP_Digest(s, len, md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, sizeof(md), out);
}

/* key and out may be the same buffer. */
static void
hmac(const unsigned char *key, size_t keylen, const char *msg, unsigned char out[32])
{
	unsigned char	md[32];
	unsigned int	len = sizeof(md);

	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), md,
	    &len);
	memcpy(out, md, sizeof(md));
	explicit_bzero(md, sizeof(md));
}

char *
s3_sign(const struct s3_sign_req *r)
{
	struct s3_header	*h;
	struct s3_buf		 creq = { 0 }, signed_names = { 0 };
	char			 date[9], hash[65], *scope, *sts, *key, *auth, sig[65];
	unsigned char		 k[32];
	size_t			 i;

	h = xreallocarray(NULL, r->nheaders, sizeof(*h));
	memcpy(h, r->headers, r->nheaders * sizeof(*h));
	qsort(h, r->nheaders, sizeof(*h), header_cmp);
	sb_str(&creq, r->method);
	sb_str(&creq, "\n");
	sb_str(&creq, r->path);
	sb_str(&creq, "\n");
	sb_str(&creq, r->query);
	sb_str(&creq, "\n");
	for (i = 0; i < r->nheaders; i++) {
		sb_str(&creq, h[i].name);
		sb_str(&creq, ":");
		sb_value(&creq, h[i].value);
		sb_str(&creq, "\n");
		if (i > 0)
			sb_str(&signed_names, ";");
		sb_str(&signed_names, h[i].name);
	}
	free(h);
	sb_str(&creq, "\n");
	sb_str(&creq, signed_names.data != NULL ? signed_names.data : "");
	sb_str(&creq, "\n");
	sb_str(&creq, r->payload_hash);

	strlcpy(date, r->amz_date, sizeof(date));
	scope = xasprintf("%s/%s/%s/aws4_request", date, r->region, r->service);
	sha256_hex(creq.data, creq.len, hash);
	sts = xasprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", r->amz_date, scope, hash);

	key = xasprintf("AWS4%s", r->secret_key);
	hmac((unsigned char *)key, strlen(key), date, k);
	freezero(key, strlen(key));
	hmac(k, sizeof(k), r->region, k);
	hmac(k, sizeof(k), r->service, k);
	hmac(k, sizeof(k), "aws4_request", k);
	hmac(k, sizeof(k), sts, k);
	hex_encode(k, sizeof(k), sig);
	explicit_bzero(k, sizeof(k));

	auth = xasprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
	    r->access_key, scope, signed_names.data != NULL ? signed_names.data : "", sig);
	s3_buf_free(&creq);
	s3_buf_free(&signed_names);
	free(scope);
	free(sts);
	return auth;
}

/*
 * names: object names within Kubernetes' limits, stable hash suffixes.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/util.h"
#include "operator/names.h"

#define SUFFIX_HEX	10

void
names_sha256_hex(const void *buf, size_t len, char out[NAMES_HASH_HEX])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, mdlen, out);
}

static int
is_lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int
names_is_dns1035(const char *s, size_t max)
{
	size_t	i, len = strlen(s);

	if (len == 0 || len > max || len > 63)
		return 0;
	if (s[0] < 'a' || s[0] > 'z' || !is_lower_alnum((unsigned char)s[len - 1]))
		return 0;
	for (i = 0; i < len; i++)
		if (!is_lower_alnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

int
names_is_dns1123_subdomain(const char *s)
{
	size_t	i, len = strlen(s);

	if (len == 0 || len > 253)
		return 0;
	if (!is_lower_alnum((unsigned char)s[0]) ||
	    !is_lower_alnum((unsigned char)s[len - 1]))
		return 0;
	for (i = 0; i < len; i++) {
		if (is_lower_alnum((unsigned char)s[i]))
			continue;
		if (s[i] != '-' && s[i] != '.')
			return 0;
		if (s[i] == '.' && (s[i + 1] == '.' || s[i + 1] == '-' ||
		    (i > 0 && s[i - 1] == '-')))
			return 0;
	}
	return 1;
}

/* Cuts s to at most keep characters, drops trailing '-', adds "-HASH". */
static char *
with_suffix(const char *s, size_t keep, const char *hash)
{
	char	*cut, *out;
	size_t	 n = strlen(s);

	if (n > keep)
		n = keep;
	cut = xstrndup(s, n);
	while (n > 0 && !isalnum((unsigned char)cut[n - 1]))
		cut[--n] = '\0';
	out = xasprintf("%s%s%.*s", cut, n > 0 ? "-" : "", SUFFIX_HEX, hash);
	free(cut);
	return out;
}

char *
names_runner(const char *ns, const char *name, size_t max)
{
	char	*plain, *key, *out, hash[NAMES_HASH_HEX];
	size_t	 i;
	int	 changed = 0;

	if (max > 63)
		max = 63;
	plain = xasprintf("runner-%s-%s", ns, name);
	for (i = 0; plain[i] != '\0'; i++) {
		if (is_lower_alnum((unsigned char)plain[i]) || plain[i] == '-')
			continue;
		/* '.' (allowed in definition names) and anything else becomes '-' */
		plain[i] = isupper((unsigned char)plain[i]) ?
		    (char)tolower((unsigned char)plain[i]) : '-';
		changed = 1;
	}
	if (!changed && names_is_dns1035(plain, max))
		return plain;
	key = xasprintf("%s/%s", ns, name);
	names_sha256_hex(key, strlen(key), hash);
	free(key);
	out = with_suffix(plain, max - SUFFIX_HEX - 1, hash);
	free(plain);
	return out;
}

static int
label_char(int c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.';
}

int
names_is_label_value(const char *s)
{
	size_t	i, len = strlen(s);

	if (len > NAMES_LABEL_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!label_char((unsigned char)s[i]))
			return 0;
	return len == 0 || (isalnum((unsigned char)s[0]) &&
	    isalnum((unsigned char)s[len - 1]));
}

int
names_is_label_key(const char *s)
{
	const char	*slash = strrchr(s, '/');
	char		*prefix;
	int		 ok;

	if (slash == NULL)
		return *s != '\0' && names_is_label_value(s);
	prefix = xstrndup(s, (size_t)(slash - s));
	ok = names_is_dns1123_subdomain(prefix) && slash[1] != '\0' &&
	    names_is_label_value(slash + 1);
	free(prefix);
	return ok;
}

void
names_api_token(const unsigned char *key, size_t keylen, const char *ns,
    const char *name, const char *uid, char out[NAMES_HASH_HEX])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;
	char		*msg;

	/* NUL-separated: no two (ns, name, uid) give the same message */
	msg = xasprintf("kbackup-api-token%c%s%c%s%c%s", 0, ns, 0, name, 0,
	    uid != NULL ? uid : "");
	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg,
	    strlen("kbackup-api-token") + strlen(ns) + strlen(name) +
	    strlen(uid != NULL ? uid : "") + 3, md, &mdlen);
	free(msg);
	hex_encode(md, mdlen, out);
	explicit_bzero(md, sizeof(md));
}

char *
names_label_value(const char *s)
{
	char	hash[NAMES_HASH_HEX], *copy;
	size_t	i, len = strlen(s);

	if (names_is_label_value(s))
		return xstrdup(s);
	names_sha256_hex(s, len, hash);
	copy = xstrdup(s);
	for (i = 0; i < len; i++)
		if (!label_char((unsigned char)copy[i]))
			copy[i] = '-';
	/* skip leading non-alphanumerics so the value starts with one */
	for (i = 0; copy[i] != '\0' && !isalnum((unsigned char)copy[i]); i++)
		;
	{
		char *out = with_suffix(copy + i, NAMES_LABEL_MAX - SUFFIX_HEX - 1, hash);
		free(copy);
		return out;
	}
}

/*
 * names: the names and label values the operator gives the objects it owns,
 * and the hashes it uses (config hash, spec hash, runner API tokens).
 *
 * Every object of a definition is named runner-NAMESPACE-NAME.  Kubernetes
 * limits names: a Service name is a DNS-1035 label of at most 63 characters,
 * and a StatefulSet's pods carry a controller-revision-hash label built from
 * the pod name plus 11 characters, which must stay within 63: so the
 * StatefulSet name is kept within 52.  One name serves all three objects.
 * When the plain name does not fit (or had to be changed to be valid), it is
 * cut and given a suffix of 10 hex digits of SHA-256("NAMESPACE/NAME"): the
 * same definition always gets the same name, and two definitions whose
 * plain names share a long prefix still get different ones.
 */
#ifndef KB_OPERATOR_NAMES_H
#define KB_OPERATOR_NAMES_H

#include <stddef.h>

#define NAMES_MAX		52	/* StatefulSet name limit */
#define NAMES_LABEL_MAX		63	/* label value limit */
#define NAMES_HASH_HEX		65	/* SHA-256 in hex, with NUL */

/* runner-NS-NAME, at most max (<= 63) characters, DNS-1035; a new string. */
char	*names_runner(const char *ns, const char *name, size_t max);
/* A valid label value (<= 63, [A-Za-z0-9._-], alnum at both ends) for s. */
char	*names_label_value(const char *s);
/* 1 if s is a label value as it is; 1 if s is a label key ([PREFIX/]NAME). */
int	 names_is_label_value(const char *s);
int	 names_is_label_key(const char *s);
/*
 * The bearer token of a definition's runner API (runner/service/api.h):
 * HMAC-SHA256 under the operator's key of the definition's namespace, name
 * and UID, in hex.  The same for every pass and every operator replica, so
 * that the rendered config does not change; another for a definition
 * deleted and made again.
 */
void	 names_api_token(const unsigned char *key, size_t keylen, const char *ns,
	    const char *name, const char *uid, char out[NAMES_HASH_HEX]);
/* 1 if s is a DNS-1035 label of at most max characters. */
int	 names_is_dns1035(const char *s, size_t max);
/* 1 if s is a DNS-1123 subdomain (object names of most kinds). */
int	 names_is_dns1123_subdomain(const char *s);
/* SHA-256 of len bytes as lowercase hex into out[NAMES_HASH_HEX]. */
void	 names_sha256_hex(const void *buf, size_t len, char out[NAMES_HASH_HEX]);

#endif

/*
 * keys: encryption secrets of a storage section.
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runner/stream/keys.h"

static int
add_secret(struct keyring *kr, const char *name, const char *value, int raw, char *err,
    size_t errlen)
{
	struct container_secret	*s;
	unsigned char		*data;
	size_t			 len = strlen(value);

	if (raw) {
		if (len != 64)
			return errf(err, errlen, "%s: a raw key is 64 hex digits (32 bytes), "
			    "e.g. from openssl rand -hex 32", name);
		data = xmalloc(32);
		if (hex_decode(value, 32, data) == -1) {
			freezero(data, 32);
			return errf(err, errlen, "%s: a raw key is 64 hex digits", name);
		}
		len = 32;
	} else {
		data = xmalloc(len + 1);
		memcpy(data, value, len + 1);
	}
	kr->secrets = xreallocarray(kr->secrets, kr->n + 1, sizeof(*kr->secrets));
	s = &kr->secrets[kr->n++];
	s->name = xstrdup(name);
	s->data = data;
	s->len = len;
	s->raw = raw;
	return 0;
}

int
keyring_load(const struct config_section *s, struct keyring *kr, char *err, size_t errlen)
{
	const char	*fmt = config_get(s, "encryption_key_format");
	const char	*v;
	int		 raw = fmt != NULL && strcmp(fmt, "raw") == 0;
	size_t		 i;

	memset(kr, 0, sizeof(*kr));
	if ((v = config_get(s, "encryption_key")) != NULL &&
	    add_secret(kr, "encryption_key", v, raw, err, errlen) == -1)
		goto fail;
	if ((v = config_get(s, "encryption_key_old")) != NULL &&
	    add_secret(kr, "encryption_key_old", v, raw, err, errlen) == -1)
		goto fail;
	for (i = 0; i < s->nentries; i++) {
		if (!startswith(s->entries[i].key, "encryption_key_old."))
			continue;
		if (add_secret(kr, s->entries[i].key, s->entries[i].value, raw, err,
		    errlen) == -1)
			goto fail;
	}
	return 0;
fail:
	keyring_free(kr);
	return -1;
}

const struct container_secret *
keyring_current(const struct keyring *kr)
{
	if (kr->n == 0 || strcmp(kr->secrets[0].name, "encryption_key") != 0)
		return NULL;
	return &kr->secrets[0];
}

void
keyring_free(struct keyring *kr)
{
	size_t	i;

	for (i = 0; i < kr->n; i++) {
		freezero((void *)kr->secrets[i].data, kr->secrets[i].len);
		free((void *)kr->secrets[i].name);
	}
	free(kr->secrets);
	memset(kr, 0, sizeof(*kr));
}

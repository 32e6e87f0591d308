/*
 * keys: the encryption secrets of a storage location, as the container
 * wants them: the current key for writing; the current and every old key
 * (encryption_key_old, encryption_key_old.NAME) for reading, so keys can be
 * rotated without losing old backups.  Raw keys are written as 64 hex
 * digits (openssl rand -hex 32) and decoded here.
 */
#ifndef KB_KEYS_H
#define KB_KEYS_H

#include <stddef.h>

#include "common/config.h"
#include "runner/stream/container.h"

struct keyring {
	struct container_secret	*secrets;
	size_t			 n;
};

/* All keys of the section, current first; n == 0 when not encrypted. */
int	 keyring_load(const struct config_section *, struct keyring *, char *err,
	    size_t errlen);
/* The current key, or NULL when the location is not encrypted. */
const struct container_secret *keyring_current(const struct keyring *);
/* Wipes and frees. */
void	 keyring_free(struct keyring *);

#endif

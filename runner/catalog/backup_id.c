/*
 * backup_id: making and reading backup IDs.  See backup_id.h.
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runner/catalog/backup_id.h"

#define TIME_PART	16	/* 20261124T030000Z */
#define RANDOM_PART	6

void
backup_id_new(time_t t, char id[BACKUP_ID_MAX])
{
	unsigned char	r[RANDOM_PART / 2];
	char		hex[RANDOM_PART + 1];

	arc4random_buf(r, sizeof(r));
	hex_encode(r, sizeof(r), hex);
	time_to_id(t, id);
	id[TIME_PART] = '-';
	memcpy(id + TIME_PART + 1, hex, RANDOM_PART + 1);
}

int
backup_id_parse(const char *id, time_t *t)
{
	char	when[TIME_PART + 1];
	size_t	len = strlen(id), i;

	if (len != TIME_PART && len != TIME_PART + 1 + RANDOM_PART)
		return -1;
	memcpy(when, id, TIME_PART);
	when[TIME_PART] = '\0';
	if (id_to_time(when, t) == -1)
		return -1;
	if (len == TIME_PART)
		return 0;
	if (id[TIME_PART] != '-')
		return -1;
	for (i = TIME_PART + 1; i < len; i++)
		if (strchr("0123456789abcdef", id[i]) == NULL)
			return -1;
	return 0;
}

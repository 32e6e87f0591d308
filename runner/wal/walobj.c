/*
 * walobj: the head of a stored WAL file.  See walobj.h.
 */
#include <string.h>

#include "common/util.h"
#include "runner/wal/walobj.h"

static const unsigned char magic[8] = { 'K', 'B', 'W', 'A', 'L', '\0', 'v', '1' };

void
walobj_encode(const struct walobj_head *h, unsigned char out[WALOBJ_HEAD_LEN])
{
	memset(out, 0, WALOBJ_HEAD_LEN);
	memcpy(out, magic, sizeof(magic));
	out[8] = (unsigned char)h->kind;
	out[9] = h->flags;
	out[10] = (unsigned char)(h->pg_magic >> 8);
	out[11] = (unsigned char)h->pg_magic;
	be32_put(out + 12, h->tli);
	be64_put(out + 16, h->size);
	be64_put(out + 24, h->sysid);
	be64_put(out + 32, (uint64_t)h->completed);
	be64_put(out + 40, (uint64_t)h->last_xact_us);
	be64_put(out + 48, h->nxact);
	memcpy(out + 56, h->sha256, 32);
	memcpy(out + 88, h->name, strnlen(h->name, PG_WAL_NAME_MAX - 1));
}

int
walobj_decode(const unsigned char in[WALOBJ_HEAD_LEN], struct walobj_head *h, char *err,
    size_t errlen)
{
	size_t	i, len;

	memset(h, 0, sizeof(*h));
	if (memcmp(in, magic, sizeof(magic)) != 0)
		return errf(err, errlen, "not an archived WAL file (no kbackup WAL head)");
	if (in[8] > PG_WAL_HISTORY || (in[9] & ~(WALOBJ_TIMES_COMPLETE | WALOBJ_SWITCHED)) != 0)
		return errf(err, errlen, "bad WAL head: kind %u, flags %u", in[8], in[9]);
	for (i = 136; i < WALOBJ_HEAD_LEN; i++)
		if (in[i] != 0)
			return errf(err, errlen, "bad WAL head: reserved bytes set");
	len = strnlen((const char *)in + 88, PG_WAL_NAME_MAX);
	if (len == 0 || len >= PG_WAL_NAME_MAX)
		return errf(err, errlen, "bad WAL head: no name");
	for (i = 0; i < len; i++)
		if (strchr("0123456789ABCDEF.abcdefghijklmnopqrstuvwxyz", in[88 + i]) == NULL)
			return errf(err, errlen, "bad WAL head: a name of other characters");
	for (i = 88 + len; i < 136; i++)
		if (in[i] != 0)
			return errf(err, errlen, "bad WAL head: bytes after the name");
	h->kind = (enum pg_wal_kind)in[8];
	h->flags = in[9];
	h->pg_magic = (uint16_t)(in[10] << 8 | in[11]);
	h->tli = be32_get(in + 12);
	h->size = be64_get(in + 16);
	h->sysid = be64_get(in + 24);
	h->completed = (time_t)be64_get(in + 32);
	h->last_xact_us = (int64_t)be64_get(in + 40);
	h->nxact = be64_get(in + 48);
	memcpy(h->sha256, in + 56, 32);
	memcpy(h->name, in + 88, len);
	h->name[len] = '\0';
	return 0;
}

/*
 * bobj: a stored piece of a binary log file.  See bobj.h.
 */
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "runner/binlog/bobj.h"

static const unsigned char	magic[8] = "KBBINLG1";
static const unsigned char	binlog_magic[BOBJ_MAGIC_LEN] = { 0xfe, 'b', 'i', 'n' };

#define EV_HEADER	BOBJ_EV_HEADER
/* MariaDB's GTID_EVENT: its sequence number, then its domain, after the header. */
#define EV_GTID		162
#define EV_FORMAT	15	/* FORMAT_DESCRIPTION_EVENT */

static uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

uint32_t
bobj_event_size(const unsigned char *ev)
{
	return le32(ev + 9);
}

int
bobj_event_gtid(const unsigned char *ev, struct my_gtid *g)
{
	if (ev[4] != EV_GTID)
		return 0;
	g->server = le32(ev + 5);
	g->seq = le64(ev + EV_HEADER);
	g->domain = le32(ev + EV_HEADER + 8);
	return 1;
}

int
bobj_file_server(const unsigned char *start, size_t len, uint32_t *server)
{
	if (len < BOBJ_MAGIC_LEN + EV_HEADER)
		return len >= BOBJ_MAGIC_LEN && memcmp(start, binlog_magic, BOBJ_MAGIC_LEN) != 0 ?
		    -1 : 0;
	if (memcmp(start, binlog_magic, BOBJ_MAGIC_LEN) != 0 ||
	    start[BOBJ_MAGIC_LEN + 4] != EV_FORMAT)
		return -1;
	*server = le32(start + BOBJ_MAGIC_LEN + 5);
	return 1;
}

void
bobj_encode(const struct bobj_head *h, unsigned char out[BOBJ_HEAD_LEN])
{
	memset(out, 0, BOBJ_HEAD_LEN);
	memcpy(out, magic, sizeof(magic));
	be64_put(out + 8, h->offset);
	be64_put(out + 16, h->size);
	out[24] = h->flags;
	be64_put(out + 32, (uint64_t)h->first);
	be64_put(out + 40, (uint64_t)h->last);
	be64_put(out + 48, h->nevents);
	memcpy(out + 56, h->sha256, 32);
	memcpy(out + 88, h->name, strnlen(h->name, BOBJ_NAME_MAX - 1));
	be64_put(out + 344, h->server);
}

int
bobj_decode(const unsigned char in[BOBJ_HEAD_LEN], struct bobj_head *h, char *err,
    size_t errlen)
{
	size_t	i;

	memset(h, 0, sizeof(*h));
	if (memcmp(in, magic, sizeof(magic)) != 0)
		return errf(err, errlen, "not a binary log piece (bad magic)");
	h->offset = be64_get(in + 8);
	h->size = be64_get(in + 16);
	h->flags = in[24];
	h->first = (time_t)be64_get(in + 32);
	h->last = (time_t)be64_get(in + 40);
	h->nevents = be64_get(in + 48);
	memcpy(h->sha256, in + 56, 32);
	memcpy(h->name, in + 88, BOBJ_NAME_MAX - 1);
	if (be64_get(in + 344) > UINT32_MAX)
		return errf(err, errlen, "a binary log piece's head has a bad server id");
	h->server = (uint32_t)be64_get(in + 344);
	if ((h->flags & ~BOBJ_FINAL) != 0 || h->name[0] == '\0' || h->first > h->last ||
	    h->offset > UINT64_MAX - h->size)
		return errf(err, errlen, "a binary log piece's head does not hold together");
	for (i = 25; i < 32; i++)
		if (in[i] != 0)
			return errf(err, errlen, "a binary log piece's head has bad padding");
	return 0;
}

int
bobj_events(const unsigned char *buf, size_t len, uint64_t offset, size_t *whole,
    struct bobj_head *h, char *err, size_t errlen)
{
	size_t		p = 0;
	uint32_t	size;
	time_t		ts;

	*whole = 0;
	h->first = h->last = 0;
	h->nevents = 0;
	if (offset == 0) {
		if (len < BOBJ_MAGIC_LEN)
			return 0;
		if (memcmp(buf, binlog_magic, BOBJ_MAGIC_LEN) != 0)
			return errf(err, errlen, "not a binary log file (bad magic)");
		p = BOBJ_MAGIC_LEN;
	}
	while (len - p >= EV_HEADER) {
		size = bobj_event_size(buf + p);
		if (size < EV_HEADER)
			return errf(err, errlen, "an event of %u bytes at offset %llu: not a "
			    "binary log", size, (unsigned long long)(offset + p));
		if (len - p < size)
			break;
		ts = (time_t)le32(buf + p);
		if (ts != 0 && (h->first == 0 || ts < h->first))
			h->first = ts;
		if (ts > h->last)
			h->last = ts;
		h->nevents++;
		p += size;
	}
	*whole = p;
	return 0;
}

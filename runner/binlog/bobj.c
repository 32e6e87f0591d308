/*
 * bobj: a stored piece of a binary log file.  See bobj.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "runner/binlog/bobj.h"

static const unsigned char	magic[8] = "KBBINLG1";
static const unsigned char	binlog_magic[BOBJ_MAGIC_LEN] = { 0xfe, 'b', 'i', 'n' };

#define EV_HEADER	BOBJ_EV_HEADER
/* MariaDB's GTID_EVENT: its sequence number, then its domain, after the header. */
#define EV_GTID		162
#define EV_FORMAT	15	/* FORMAT_DESCRIPTION_EVENT */
/* MariaDB's GTID_LIST_EVENT: a count (its top four bits are flags), then the GTIDs. */
#define EV_GTID_LIST	163
#define GTID_LIST_ONE	16	/* domain, server, sequence */

uint32_t
bobj_event_size(const unsigned char *ev)
{
	return le32_get(ev + 9);
}

int
bobj_event_gtid(const unsigned char *ev, struct my_gtid *g)
{
	if (ev[4] != EV_GTID)
		return 0;
	g->server = le32_get(ev + 5);
	g->seq = le64_get(ev + EV_HEADER);
	g->domain = le32_get(ev + EV_HEADER + 8);
	return 1;
}

int
bobj_event_gtid_list(const unsigned char *ev, size_t len, struct my_gtid_pos *pos)
{
	const unsigned char	*p;
	uint32_t		 count, i;

	if (len < EV_HEADER || ev[4] != EV_GTID_LIST)
		return 0;
	if (len < EV_HEADER + 4)
		return -1;
	count = le32_get(ev + EV_HEADER) & 0x0fffffff;
	if (count > MY_GTID_DOMAINS_MAX || len < EV_HEADER + 4 + (size_t)count * GTID_LIST_ONE)
		return -1;
	memset(pos, 0, sizeof(*pos));
	for (i = 0; i < count; i++) {
		p = ev + EV_HEADER + 4 + (size_t)i * GTID_LIST_ONE;
		pos->v[i].domain = le32_get(p);
		pos->v[i].server = le32_get(p + 4);
		pos->v[i].seq = le64_get(p + 8);
		if (my_gtid_pos_domain(pos, pos->v[i].domain) != NULL)
			return -1;	/* one GTID a domain */
		pos->n = i + 1;
	}
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
	*server = le32_get(start + BOBJ_MAGIC_LEN + 5);
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
		ts = (time_t)le32_get(buf + p);
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

#define WALK_BUF	(1024 * 1024)

/* Refills buf from fd at *off + *p, up to end: what is left moves to the front. */
static int
refill(int fd, unsigned char *buf, size_t *len, size_t *p, uint64_t *off, uint64_t end,
    char *err, size_t errlen)
{
	uint64_t	room = WALK_BUF;
	ssize_t		n;

	memmove(buf, buf + *p, *len - *p);
	*off += *p;
	*len -= *p;
	*p = 0;
	room -= *len;
	if (*off + *len >= end)
		return 0;
	if (end - (*off + *len) < room)
		room = end - (*off + *len);
	if ((n = pread_full(fd, buf + *len, (size_t)room, (off_t)(*off + *len))) == -1)
		return errf(err, errlen, "reading: %s", strerror(errno));
	*len += (size_t)n;
	return 0;
}

int
bobj_walk(int fd, uint64_t from, uint64_t end, bobj_walk_fn fn, void *arg, char *err,
    size_t errlen)
{
	unsigned char	*buf = xmalloc(WALK_BUF);
	uint64_t	 off = from;
	size_t		 len = 0, p = 0, have;
	uint32_t	 size;
	int		 rc = 0;

	while (rc == 0) {
		if (len - p < BOBJ_WALK_KEEP &&
		    (rc = refill(fd, buf, &len, &p, &off, end, err, errlen)) == -1)
			break;
		if (len - p < EV_HEADER)
			break;
		if ((size = bobj_event_size(buf + p)) < EV_HEADER) {
			rc = errf(err, errlen, "an event of %" PRIu32 " bytes at offset %" PRIu64,
			    size, off + p);
			break;
		}
		if (off + p + size > end)
			break;	/* not whole yet */
		have = size <= len - p ? size : len - p;
		if ((rc = fn(buf + p, have, off + p, arg, err, errlen)) != 0)
			break;
		if (size <= len - p)
			p += size;
		else {
			off += p + size;
			len = p = 0;
		}
	}
	free(buf);
	return rc == -1 ? -1 : 0;
}

/*
 * walseg: identity and commit times of a WAL segment.  See walseg.h; the
 * layout read here is PostgreSQL's access/xlog_internal.h and
 * access/xlogrecord.h (unchanged in what is read from 13 to 17).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "engines/pg_wal.h"
#include "runner/wal/walseg.h"

#define LONG_PHD		40	/* MAXALIGN(sizeof(XLogLongPageHeaderData)) */
#define SHORT_PHD		24	/* MAXALIGN(sizeof(XLogPageHeaderData)) */
#define REC_HDR			24	/* sizeof(XLogRecord) */
#define PAGE_MAX		65536
#define XLP_FIRST_IS_CONTRECORD	0x0001
#define XLP_LONG_HEADER		0x0002
#define XLP_ALL_FLAGS		0x000F

#define RM_XLOG_ID		0
#define RM_XACT_ID		1
#define XLOG_SWITCH		0x40
#define XLOG_RESTORE_POINT	0x70
#define XLOG_XACT_OPMASK	0x70
#define XLOG_XACT_COMMIT	0x00
#define XLOG_XACT_ABORT		0x20
#define XLOG_XACT_COMMIT_PREPARED 0x30
#define XLOG_XACT_ABORT_PREPARED 0x40
#define XLR_BLOCK_ID_DATA_SHORT	255
#define XLR_BLOCK_ID_DATA_LONG	254
#define XLR_BLOCK_ID_ORIGIN	253
#define XLR_BLOCK_ID_TOPLEVEL_XID 252

/* PostgreSQL's epoch, 2000-01-01, in Unix microseconds. */
#define PG_EPOCH_US		(INT64_C(946684800) * 1000000)

#define MAXALIGN(x)		(((x) + 7) & ~(uint64_t)7)

/* XLOG_PAGE_MAGIC has been 0xD0xx or 0xD1xx in every release with this layout. */
static int
magic_plausible(uint16_t magic)
{
	return (magic & 0xFF00) == 0xD000 || (magic & 0xFF00) == 0xD100;
}

int
walseg_identify(const void *buf, size_t len, uint32_t tli, uint64_t segno,
    uint64_t segsize, struct walseg_info *info, char *err, size_t errlen)
{
	const unsigned char	*p = buf;
	char			 want[PG_WAL_NAME_MAX], got[PG_WAL_NAME_MAX];
	uint16_t		 magic, flags;
	uint32_t		 ptli, ssize, blck;
	uint64_t		 addr;

	memset(info, 0, sizeof(*info));
	pg_wal_segment_name(tli, segno, segsize, want);
	if (len < LONG_PHD)
		return errf(err, errlen, "%s: %zu bytes, not a WAL segment", want, len);
	magic = le16_get(p);
	flags = le16_get(p + 2);
	ptli = le32_get(p + 4);
	addr = le64_get(p + 8);
	if (!magic_plausible(magic) || !(flags & XLP_LONG_HEADER) ||
	    (flags & ~XLP_ALL_FLAGS) != 0)
		return errf(err, errlen, "%s: not a WAL segment (its first page header is "
		    "not one: magic %04X, flags %04X)", want, magic, flags);
	if (addr != segno * segsize || ptli == 0 || ptli > tli) {
		if (addr % segsize == 0 && ptli != 0)
			pg_wal_segment_name(ptli, addr / segsize, segsize, got);
		else
			strlcpy(got, "no segment", sizeof(got));
		return errf(err, errlen, "%s: the file holds %s (its first page says so): "
		    "swapped or misnamed", want, got);
	}
	ssize = le32_get(p + 32);
	blck = le32_get(p + 36);
	if (ssize != segsize)
		return errf(err, errlen, "%s: a segment of %u bytes where the archive's are "
		    "%llu", want, ssize, (unsigned long long)segsize);
	if (blck < 1024 || blck > PAGE_MAX || (blck & (blck - 1)) != 0)
		return errf(err, errlen, "%s: page size %u is none PostgreSQL has", want, blck);
	info->magic = magic;
	info->tli = ptli;
	info->sysid = le64_get(p + 24);
	info->blcksz = blck;
	return 0;
}

void
walseg_begin(struct walseg_scan *s, uint32_t tli, uint64_t segno, uint64_t segsize)
{
	memset(s, 0, sizeof(*s));
	s->tli = tli;
	s->segno = segno;
	s->segsize = segsize;
	s->page = xmalloc(PAGE_MAX);
	s->rec = xmalloc(WALSEG_REC_KEEP);
	s->walking = 1;
}

void
walseg_free(struct walseg_scan *s)
{
	free(s->page);
	free(s->rec);
	s->page = s->rec = NULL;
}

static void
stop_walk(struct walseg_scan *s, uint64_t off, const char *why)
{
	char	lsn[PG_WAL_LSN_MAX];

	if (!s->walking)
		return;
	pg_wal_lsn_format(s->segno * s->segsize + s->pageno * s->info.blcksz + off, lsn);
	snprintf(s->info.stopped, sizeof(s->info.stopped), "at %s: %s", lsn, why);
	s->walking = 0;
}

/* The timestamp a recovery target time is compared with, of a complete kept record. */
static void
record_time(struct walseg_scan *s)
{
	const unsigned char	*r = s->rec;
	uint8_t			 info = r[16], rmid = r[17], id;
	uint32_t		 p = REC_HDR, main_len;
	int64_t			 t;

	if (rmid == RM_XLOG_ID && (info & 0xF0) == XLOG_SWITCH) {
		s->info.switched = 1;
		s->walking = 0;
		return;
	}
	if (!(rmid == RM_XACT_ID && ((info & XLOG_XACT_OPMASK) == XLOG_XACT_COMMIT ||
	    (info & XLOG_XACT_OPMASK) == XLOG_XACT_ABORT ||
	    (info & XLOG_XACT_OPMASK) == XLOG_XACT_COMMIT_PREPARED ||
	    (info & XLOG_XACT_OPMASK) == XLOG_XACT_ABORT_PREPARED)) &&
	    !(rmid == RM_XLOG_ID && (info & 0xF0) == XLOG_RESTORE_POINT))
		return;
	/* These records refer to no blocks: origin, top-level xid, then the data length. */
	for (;;) {
		if (p >= s->rec_total)
			return;
		id = r[p];
		if (id == XLR_BLOCK_ID_ORIGIN)
			p += 3;
		else if (id == XLR_BLOCK_ID_TOPLEVEL_XID)
			p += 5;
		else
			break;
	}
	if (id == XLR_BLOCK_ID_DATA_SHORT && p + 2 <= s->rec_total) {
		main_len = r[p + 1];
		p += 2;
	} else if (id == XLR_BLOCK_ID_DATA_LONG && p + 5 <= s->rec_total) {
		main_len = le32_get(r + p + 1);
		p += 5;
	} else
		return;
	if (main_len < 8 || main_len > s->rec_total - p)
		return;
	/* The main data ends the record; each of these begins with its TimestampTz. */
	t = (int64_t)le64_get(r + s->rec_total - main_len);
	if (t > INT64_MAX - PG_EPOCH_US || t < -PG_EPOCH_US)
		return;
	t += PG_EPOCH_US;
	if (t > s->info.last_xact_us)
		s->info.last_xact_us = t;
	s->info.nxact++;
}

/* Adds n bytes of the current record. */
static void
rec_add(struct walseg_scan *s, const unsigned char *p, uint32_t n)
{
	uint32_t	hdr;

	if (s->rec_keep && s->rec_have < REC_HDR) {
		hdr = REC_HDR - s->rec_have < n ? REC_HDR - s->rec_have : n;
		memcpy(s->rec + s->rec_have, p, hdr);
		s->rec_have += hdr;
		p += hdr;
		n -= hdr;
		if (s->rec_have == REC_HDR)
			s->rec_keep = s->rec[17] <= RM_XACT_ID && s->rec_total <= WALSEG_REC_KEEP;
	}
	if (s->rec_keep && n > 0)
		memcpy(s->rec + s->rec_have, p, n);
	s->rec_have += n;
}

/* Takes what of the current record this page holds from off; returns the new offset. */
static uint32_t
rec_take(struct walseg_scan *s, const unsigned char *page, uint32_t off)
{
	uint32_t	avail = s->info.blcksz - off, want = s->rec_total - s->rec_have;
	uint32_t	n = want < avail ? want : avail;

	rec_add(s, page + off, n);
	off += n;
	if (s->rec_have == s->rec_total) {
		s->in_rec = 0;
		if (s->rec_keep)
			record_time(s);
		off = (uint32_t)MAXALIGN(off);
	}
	return off;
}

/* 0 if the page header of a page after the first is what the walk expects. */
static int
page_header_ok(struct walseg_scan *s, const unsigned char *page)
{
	uint16_t	flags = le16_get(page + 2);
	uint32_t	ptli = le32_get(page + 4);

	if (le16_get(page) != s->info.magic || (flags & ~XLP_ALL_FLAGS) != 0 ||
	    (flags & XLP_LONG_HEADER)) {
		stop_walk(s, 0, "not a WAL page header");
		return -1;
	}
	if (le64_get(page + 8) != s->segno * s->segsize + s->pageno * s->info.blcksz) {
		stop_walk(s, 0, "a page of another address");
		return -1;
	}
	if (ptli < s->last_tli || ptli > s->tli) {
		stop_walk(s, 0, "a page of an unexpected timeline");
		return -1;
	}
	s->last_tli = ptli;
	return 0;
}

/* The continuation at the start of a page; returns where records start, or 0: none. */
static uint32_t
page_continuation(struct walseg_scan *s, const unsigned char *page, uint32_t hdrlen)
{
	uint32_t	rem = le32_get(page + 16), off;

	if (!(le16_get(page + 2) & XLP_FIRST_IS_CONTRECORD)) {
		if (s->in_rec) {
			stop_walk(s, hdrlen, "a record continues but the page says none does");
			return 0;
		}
		return hdrlen;
	}
	if (!s->in_rec) {
		if (s->pageno != 0) {
			stop_walk(s, hdrlen, "a continuation where no record continues");
			return 0;
		}
		/* The end of a record of the previous segment: skipped. */
		s->in_rec = 1;
		s->rec_keep = 0;
		s->rec_total = rem;
		s->rec_have = 0;
	} else if (rem != s->rec_total - s->rec_have) {
		stop_walk(s, hdrlen, "a continuation of the wrong length");
		return 0;
	}
	off = rec_take(s, page, hdrlen);
	return s->in_rec ? 0 : off;
}

static void
page_done(struct walseg_scan *s)
{
	const unsigned char	*page = s->page;
	uint32_t		 off, hdrlen = s->pageno == 0 ? LONG_PHD : SHORT_PHD;
	uint32_t		 tot;

	if (!s->walking)
		return;
	if (s->pageno == 0)
		s->last_tli = s->info.tli;
	else if (page_header_ok(s, page) == -1)
		return;
	if ((off = page_continuation(s, page, hdrlen)) == 0)
		return;
	while (s->walking && off < s->info.blcksz) {
		if (!s->in_rec) {
			tot = le32_get(page + off);
			if (tot < REC_HDR) {
				stop_walk(s, off, tot == 0 ? "no further record before the "
				    "segment's end" : "a record header of a bad length");
				return;
			}
			s->in_rec = 1;
			s->rec_keep = 1;
			s->rec_total = tot;
			s->rec_have = 0;
		}
		off = rec_take(s, page, off);
	}
}

int
walseg_feed(struct walseg_scan *s, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	size_t			 need, n;

	while (len > 0 && !s->failed) {
		if (s->fed >= s->segsize) {
			s->fed += len;	/* too long: walseg_end() says so */
			return 0;
		}
		need = s->identified ? s->info.blcksz : LONG_PHD;
		n = need - s->pagefill < len ? need - s->pagefill : len;
		if (n > s->segsize - s->fed)
			n = (size_t)(s->segsize - s->fed);
		memcpy(s->page + s->pagefill, p, n);
		s->pagefill += n;
		s->fed += n;
		p += n;
		len -= n;
		if (s->pagefill < need)
			continue;
		if (!s->identified) {
			if (walseg_identify(s->page, s->pagefill, s->tli, s->segno, s->segsize,
			    &s->info, s->err, sizeof(s->err)) == -1) {
				s->failed = 1;
				return -1;
			}
			s->identified = 1;
			continue;
		}
		page_done(s);
		s->pageno++;
		s->pagefill = 0;
	}
	return s->failed ? -1 : 0;
}

int
walseg_end(struct walseg_scan *s, struct walseg_info *info, char *err, size_t errlen)
{
	char	name[PG_WAL_NAME_MAX];

	pg_wal_segment_name(s->tli, s->segno, s->segsize, name);
	if (s->failed)
		return errf(err, errlen, "%s", s->err);
	if (s->fed != s->segsize)
		return errf(err, errlen, "%s: %llu bytes where a segment has %llu: truncated "
		    "or not a segment", name, (unsigned long long)s->fed,
		    (unsigned long long)s->segsize);
	if (!s->identified)
		return errf(err, errlen, "%s: not a WAL segment", name);
	s->info.times_complete = s->walking || s->info.switched;
	*info = s->info;
	return 0;
}

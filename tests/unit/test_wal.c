/*
 * test_wal: the WAL archive's pieces without a server.  WAL file names and
 * LSNs (engines/pg_wal); a stored file's head (walobj); a segment's
 * identity and commit times read from segments built here page by page as
 * PostgreSQL writes them (walseg: records across pages, a continuation at
 * the segment's start, a switch, swapped, misnamed, truncated and foreign
 * segments); and an archive on the file backend with two timelines, where
 * the chain's paths, runs, gaps, windows and restore plans are checked
 * (chain), and what prune may delete (retention's rule, through chain).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"
#include "common/util.h"
#include "engines/pg_wal.h"
#include "runner/wal/archive.h"
#include "runner/wal/chain.h"
#include "runner/wal/walobj.h"
#include "runner/wal/walseg.h"
#include "tests/unit/testutil.h"

#define SEG		(1024 * 1024)	/* the smallest segment size: light tests */
#define BLCK		8192
#define SYSID		UINT64_C(7714434434010238951)
#define PG_EPOCH_US	(INT64_C(946684800) * 1000000)

/* A segment being built, as the server writes one. */
struct segb {
	unsigned char	*buf;
	uint32_t	 tli;
	uint32_t	 page_tli;
	uint64_t	 segno;
	uint64_t	 pos;
	uint64_t	 spill;		/* bytes of the last record past the end */
	unsigned char	 spilled[4096];
};

static void
put_le(unsigned char *p, uint64_t v, int n)
{
	int	i;

	for (i = 0; i < n; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

static void
page_header(struct segb *b, uint32_t rem)
{
	unsigned char	*p = b->buf + b->pos;
	uint16_t	 info = (b->pos == 0 ? 0x0002 : 0) | (rem > 0 ? 0x0001 : 0);

	put_le(p, 0xD110, 2);
	put_le(p + 2, info, 2);
	put_le(p + 4, b->page_tli, 4);
	put_le(p + 8, b->segno * SEG + b->pos, 8);
	put_le(p + 16, rem, 4);
	if (b->pos == 0) {
		put_le(p + 24, SYSID, 8);
		put_le(p + 32, SEG, 4);
		put_le(p + 36, BLCK, 4);
		b->pos += 40;
	} else
		b->pos += 24;
}

/* Writes len bytes of a record (continuing one when cont), page headers between. */
static void
put_bytes(struct segb *b, const unsigned char *p, size_t len, int cont)
{
	size_t	n, done = 0;

	while (done < len) {
		if (b->pos >= SEG) {
			b->spill = len - done;
			memcpy(b->spilled, p + done, b->spill < sizeof(b->spilled) ?
			    b->spill : sizeof(b->spilled));
			return;
		}
		if (b->pos % BLCK == 0)
			page_header(b, cont || done > 0 ? (uint32_t)(len - done) : 0);
		n = BLCK - b->pos % BLCK;
		if (n > len - done)
			n = len - done;
		memcpy(b->buf + b->pos, p + done, n);
		b->pos += n;
		done += n;
	}
	b->pos = (b->pos + 7) & ~(uint64_t)7;
}

static void
segb_init(struct segb *b, uint32_t tli, uint64_t segno, const unsigned char *cont,
    size_t contlen)
{
	memset(b, 0, sizeof(*b));
	b->buf = xcalloc(1, SEG);
	b->tli = b->page_tli = tli;
	b->segno = segno;
	page_header(b, (uint32_t)contlen);
	if (contlen > 0)
		put_bytes(b, cont, contlen, 1);
}

/* A record of rmid/info whose main data is data (len bytes). */
static void
put_record(struct segb *b, uint8_t rmid, uint8_t info, const unsigned char *data,
    size_t len)
{
	unsigned char	rec[4096];
	size_t		tot = 24 + (len > 0 ? (len < 256 ? 2 : 5) : 0) + len, p = 24;

	assert_true(tot <= sizeof(rec));
	memset(rec, 0, sizeof(rec));
	put_le(rec, tot, 4);
	rec[16] = info;
	rec[17] = rmid;
	if (len > 0 && len < 256) {
		rec[p++] = 255;
		rec[p++] = (unsigned char)len;
	} else if (len > 0) {
		rec[p++] = 254;
		put_le(rec + p, len, 4);
		p += 4;
	}
	if (len > 0)
		memcpy(rec + p, data, len);
	put_bytes(b, rec, tot, 0);
}

static void
put_commit(struct segb *b, int64_t unix_us)
{
	unsigned char	d[16] = { 0 };

	put_le(d, (uint64_t)(unix_us - PG_EPOCH_US), 8);
	put_record(b, 1, 0x00, d, sizeof(d));
}

/* Fills the segment with ordinary records (one crosses its end) or ends it with a switch. */
static void
segb_finish(struct segb *b, int switched)
{
	unsigned char	filler[900];

	memset(filler, 0xab, sizeof(filler));
	if (switched) {
		put_record(b, 0, 0x40, NULL, 0);
		return;
	}
	while (b->pos < SEG && b->spill == 0)
		put_record(b, 10, 0, filler, sizeof(filler));
}

/* Segment segno of tli holding one commit at unix_us, then finished as segb_finish(). */
static void
segb_one_commit(struct segb *b, uint32_t tli, uint64_t segno, int64_t unix_us,
    int switched)
{
	segb_init(b, tli, segno, NULL, 0);
	put_commit(b, unix_us);
	segb_finish(b, switched);
}

static int
scan(const unsigned char *buf, size_t len, uint32_t tli, uint64_t segno,
    struct walseg_info *info, char *err, size_t errlen)
{
	struct walseg_scan	s;
	size_t			off, n;
	int			rc;

	walseg_begin(&s, tli, segno, SEG);
	/* In odd chunks: nothing may depend on where the reads end. */
	for (off = 0, n = 777; off < len; off += n)
		if (walseg_feed(&s, buf + off, off + n > len ? len - off : n) == -1)
			break;
	rc = walseg_end(&s, info, err, errlen);
	walseg_free(&s);
	return rc;
}

static void
test_names(void **state)
{
	struct pg_wal_name	n;
	char			buf[PG_WAL_NAME_MAX];
	uint64_t		lsn;

	assert_int_equal(pg_wal_name_parse("00000002000000010000000A", 16 << 20, &n), 0);
	assert_int_equal(n.kind, PG_WAL_SEGMENT);
	assert_int_equal(n.tli, 2);
	assert_int_equal(n.segno, 256 + 10);
	pg_wal_name_format(&n, 16 << 20, buf);
	assert_string_equal(buf, "00000002000000010000000A");
	/* 1 GiB segments: four per 4 GiB, so ...00000004 is no segment. */
	assert_int_equal(pg_wal_name_parse("000000010000000000000004", 1 << 30, &n), -1);
	assert_int_equal(pg_wal_name_parse("000000010000000000000003", 1 << 30, &n), 0);
	assert_int_equal(pg_wal_name_parse("00000003.history", 16 << 20, &n), 0);
	assert_int_equal(n.kind, PG_WAL_HISTORY);
	assert_int_equal(n.tli, 3);
	assert_int_equal(pg_wal_name_parse("000000010000000000000002.00000028.backup",
	    16 << 20, &n), 0);
	assert_int_equal(n.kind, PG_WAL_BACKUP);
	assert_int_equal(n.offset, 0x28);
	pg_wal_name_format(&n, 16 << 20, buf);
	assert_string_equal(buf, "000000010000000000000002.00000028.backup");
	assert_int_equal(pg_wal_name_parse("00000001000000000000000A.partial", 16 << 20, &n),
	    0);
	assert_int_equal(n.kind, PG_WAL_PARTIAL);
	/* Lower case, timeline 0, other lengths and suffixes are no WAL names. */
	assert_int_equal(pg_wal_name_parse("00000001000000000000000a", 16 << 20, &n), -1);
	assert_int_equal(pg_wal_name_parse("000000000000000000000001", 16 << 20, &n), -1);
	assert_int_equal(pg_wal_name_parse("00000001000000000000000", 16 << 20, &n), -1);
	assert_int_equal(pg_wal_name_parse("000000010000000000000001.gz", 16 << 20, &n), -1);
	assert_int_equal(pg_wal_name_parse("00000000.history", 16 << 20, &n), -1);
	assert_int_equal(pg_wal_name_parse("../etc/passwd", 16 << 20, &n), -1);
	assert_int_equal(pg_wal_lsn_parse("16/B374D848", &lsn), 0);
	assert_true(lsn == (UINT64_C(0x16) << 32 | 0xB374D848));
	pg_wal_lsn_format(lsn, buf);
	assert_string_equal(buf, "16/B374D848");
	assert_int_equal(pg_wal_lsn_parse("0/0", &lsn), 0);
	assert_int_equal(pg_wal_lsn_parse("16B374D848", &lsn), -1);
	assert_int_equal(pg_wal_lsn_parse("1/123456789", &lsn), -1);
	assert_int_equal(pg_wal_lsn_parse("x/1", &lsn), -1);
	assert_true(pg_wal_segsize_valid(1 << 20) && pg_wal_segsize_valid(1 << 30));
	assert_false(pg_wal_segsize_valid(3 << 20) || pg_wal_segsize_valid(1 << 19));
}

static void
test_walobj(void **state)
{
	struct walobj_head	h, g;
	unsigned char		raw[WALOBJ_HEAD_LEN];
	char			err[KB_ERRLEN];

	memset(&h, 0, sizeof(h));
	h.kind = PG_WAL_SEGMENT;
	h.flags = WALOBJ_TIMES_COMPLETE;
	h.pg_magic = 0xD110;
	h.tli = 3;
	h.size = SEG;
	h.sysid = SYSID;
	h.completed = 1796157000;
	h.last_xact_us = INT64_C(1796157000123456);
	h.nxact = 42;
	memset(h.sha256, 0x5a, sizeof(h.sha256));
	strlcpy(h.name, "000000030000000000000007", sizeof(h.name));
	walobj_encode(&h, raw);
	assert_int_equal(walobj_decode(raw, &g, err, sizeof(err)), 0);
	assert_memory_equal(&h, &g, sizeof(h));
	raw[0] ^= 1;
	assert_int_equal(walobj_decode(raw, &g, err, sizeof(err)), -1);
	raw[0] ^= 1;
	raw[9] = 0x80;
	assert_int_equal(walobj_decode(raw, &g, err, sizeof(err)), -1);
	raw[9] = WALOBJ_TIMES_COMPLETE;
	raw[88] = '/';
	assert_int_equal(walobj_decode(raw, &g, err, sizeof(err)), -1);
	raw[88] = '0';
	raw[150] = 1;
	assert_int_equal(walobj_decode(raw, &g, err, sizeof(err)), -1);
}

static void
test_walseg_times(void **state)
{
	struct segb		b, c;
	struct walseg_info	info;
	char			err[KB_ERRLEN];
	int64_t			t0 = INT64_C(1796157000000000);
	unsigned char		big[3000];
	int			i;

	segb_init(&b, 1, 5, NULL, 0);
	for (i = 0; i < 300; i++) {
		put_commit(&b, t0 + i * 100000);
		/* Records that cross pages, also one holding a commit's neighbours. */
		memset(big, i, sizeof(big));
		put_record(&b, 10, 0, big, sizeof(big));
	}
	/* A restore point: its time leads its data (then its name). */
	memset(big, 0, 72);
	put_le(big, (uint64_t)(t0 + 299 * 100000 + 50000 - PG_EPOCH_US), 8);
	put_record(&b, 0, 0x70, big, 72);
	segb_finish(&b, 0);
	assert_true(b.spill > 0);
	assert_int_equal(scan(b.buf, SEG, 1, 5, &info, err, sizeof(err)), 0);
	assert_int_equal(info.magic, 0xD110);
	assert_true(info.sysid == SYSID);
	assert_true(info.times_complete);
	assert_false(info.switched);
	assert_int_equal(info.nxact, 301);
	assert_true(info.last_xact_us == t0 + 299 * 100000 + 50000);

	/* The next segment begins with the end of that record, then a commit, then a switch. */
	segb_init(&c, 1, 6, b.spilled, b.spill);
	put_commit(&c, t0 + 10 * 1000000);
	segb_finish(&c, 1);
	assert_int_equal(scan(c.buf, SEG, 1, 6, &info, err, sizeof(err)), 0);
	assert_true(info.switched);
	assert_true(info.times_complete);
	assert_int_equal(info.nxact, 1);
	assert_true(info.last_xact_us == t0 + 10 * 1000000);
	free(b.buf);
	free(c.buf);
}

static void
test_walseg_identity(void **state)
{
	struct segb		b;
	struct walseg_info	info;
	char			err[KB_ERRLEN];

	segb_one_commit(&b, 2, 9, INT64_C(1796157000000000), 1);
	assert_int_equal(scan(b.buf, SEG, 2, 9, &info, err, sizeof(err)), 0);
	/* Named as another segment: swapped. */
	assert_int_equal(scan(b.buf, SEG, 2, 10, &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "swapped"));
	assert_non_null(strstr(err, "000000020000000000000009"));
	/* A later timeline's name may hold an earlier timeline's pages; not the reverse. */
	assert_int_equal(scan(b.buf, SEG, 3, 9, &info, err, sizeof(err)), 0);
	assert_int_equal(scan(b.buf, SEG, 1, 9, &info, err, sizeof(err)), -1);
	/* Truncated, or longer than a segment. */
	assert_int_equal(scan(b.buf, SEG / 2, 2, 9, &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "truncated"));
	/* Not WAL at all. */
	memset(b.buf, 'x', 64);
	assert_int_equal(scan(b.buf, SEG, 2, 9, &info, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a WAL segment"));
	free(b.buf);
}

static void
test_walseg_damage(void **state)
{
	struct segb		b;
	struct walseg_info	info;
	char			err[KB_ERRLEN];

	/* A page of another address in the middle: the walk stops, the identity holds. */
	segb_one_commit(&b, 1, 5, INT64_C(1796157000000000), 0);
	put_le(b.buf + 10 * BLCK + 8, 0, 8);
	assert_int_equal(scan(b.buf, SEG, 1, 5, &info, err, sizeof(err)), 0);
	assert_false(info.times_complete);
	assert_non_null(strstr(info.stopped, "another address"));
	assert_int_equal(info.nxact, 1);
	free(b.buf);
}

/* The archive: a runner on the file backend in a temp directory. */

static char		 dir[] = "/tmp/test_wal.XXXXXX";
static struct runner	 r;
static struct keyring	 kr;
static int64_t		 T0 = INT64_C(1796157000);

static int
setup(void **state)
{
	char	*text;
	int	 rc;

	if (mkdtemp(dir) == NULL)
		return -1;
	log_set_level(LOGL_ERROR);
	text = xasprintf("[backup]\nname = orders\nnamespace = test\nengine = postgres\n"
	    "workdir = %s\n\n[postgres]\nhost = 127.0.0.1\nuser = u\ndatabase = d\n"
	    "method = physical\n\n[storage]\ntype = file\npath = %s/store\n", dir, dir);
	rc = tu_runner_open(&r, dir, text);
	free(text);
	memset(&kr, 0, sizeof(kr));
	return rc;
}

static int
teardown(void **state)
{
	runner_free(&r);
	tu_rmtree(dir);
	return 0;
}

/* Stores a file of these bytes under name, as wal-push does. */
static void
store_file(const char *name, const void *buf, size_t len)
{
	struct walobj_head	h;
	struct wal_store_opts	o;
	struct wal_identity	id;
	char			err[KB_ERRLEN], *path;
	int			fd, same;

	path = path_join(dir, name);
	assert_true((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) != -1);
	assert_int_equal(write_all(fd, buf, len), 0);
	wal_store_opts(&r, &o);
	if (wal_file_scan(fd, name, &h, NULL, err, sizeof(err)) == -1)
		fail_msg("scan %s: %s", name, err);
	id.sysid = SYSID;
	id.segsize = SEG;
	if (h.kind == PG_WAL_SEGMENT)
		assert_int_equal(wal_identity_check(&r.locations[0], r.base, &id, NULL, err,
		    sizeof(err)), 0);
	if (wal_store(&r.locations[0], r.base, &kr, fd, &h, &o, &same, err,
	    sizeof(err)) == -1)
		fail_msg("store %s: %s", name, err);
	close(fd);
	unlink(path);
	free(path);
}

/* Segment segno of tli with one commit at T0 + segno seconds (and its page timeline). */
static void
store_segment(uint32_t tli, uint32_t page_tli, uint64_t segno)
{
	struct segb	b;
	char		name[PG_WAL_NAME_MAX];

	segb_init(&b, tli, segno, NULL, 0);
	b.page_tli = page_tli;
	put_commit(&b, (T0 + (int64_t)segno) * 1000000 + 500000);
	segb_finish(&b, 1);
	pg_wal_segment_name(tli, segno, SEG, name);
	store_file(name, b.buf, SEG);
	free(b.buf);
}

static void
remove_segment(uint32_t tli, uint64_t segno)
{
	char	name[PG_WAL_NAME_MAX], *key, *path;

	pg_wal_segment_name(tli, segno, SEG, name);
	key = wal_key(r.base, name);
	path = xasprintf("%s/store/%s", dir, key);
	assert_int_equal(unlink(path), 0);
	free(path);
	free(key);
}

/* Segment segno of tli removed, the archive opened again: its windows over the three bases. */
static void
windows_without(uint32_t tli, uint64_t segno, struct wal_archive *ar,
    const struct wal_base *bases, struct wal_window **w, size_t *nw,
    struct wal_bad_base **bad, size_t *nbad)
{
	char	err[KB_ERRLEN];

	remove_segment(tli, segno);
	if (wal_archive_open(&r.locations[0], r.base, &kr, 0, ar, err, sizeof(err)) != 0)
		fail_msg("wal_archive_open: %s", err);
	if (wal_windows(ar, bases, 3, w, nw, bad, nbad, err, sizeof(err)) != 0)
		fail_msg("wal_windows: %s", err);
}

static struct wal_base
base(const char *id, uint32_t tli, uint64_t seg, time_t finished)
{
	struct wal_base	b;

	memset(&b, 0, sizeof(b));
	strlcpy(b.id, id, sizeof(b.id));
	b.finished = finished;
	b.d.segsize = SEG;
	b.d.sysid = SYSID;
	b.d.timeline = b.d.stop_timeline = tli;
	b.d.first_segno = b.d.last_segno = seg;
	b.d.start_lsn = seg * SEG + 40;
	b.d.stop_lsn = seg * SEG + 4096;
	return b;
}

static void
test_chain(void **state)
{
	struct wal_archive	 ar;
	struct wal_path		 p;
	struct wal_base		 bases[3];
	struct wal_window	*w;
	struct wal_bad_base	*bad;
	struct wal_plan		 plan;
	struct wal_target	 t;
	char			 err[KB_ERRLEN], text[128];
	const char		*hist = "1\t0/700000\tbefore transaction 900\n";
	size_t			 nw, nbad, win_of[3];
	uint64_t		 s;

	/* Timeline 1: segments 2 to 10; timeline 2 forked at 0/700000 (segment 7). */
	for (s = 2; s <= 10; s++)
		store_segment(1, 1, s);
	store_file("00000002.history", hist, strlen(hist));
	store_segment(2, 1, 7);		/* the switch segment: its first pages are timeline 1's */
	for (s = 8; s <= 12; s++)
		store_segment(2, 2, s);
	bases[0] = base("20261201T030000Z-000001", 1, 2, (time_t)T0 + 2);
	bases[1] = base("20261201T040000Z-000002", 1, 8, (time_t)T0 + 8);
	bases[2] = base("20261201T050000Z-000003", 2, 9, (time_t)T0 + 9);

	assert_int_equal(wal_archive_open(&r.locations[0], r.base, &kr, 0, &ar, err,
	    sizeof(err)), 0);
	assert_true(ar.have_identity);
	assert_int_equal(ar.nsegs, 9 + 6);
	assert_int_equal(ar.max_tli, 2);
	assert_int_equal(wal_path_of(&ar, 2, &p, err, sizeof(err)), 0);
	assert_int_equal(wal_path_tli(&p, 6), 1);
	assert_int_equal(wal_path_tli(&p, 7), 2);
	wal_path_free(&p);
	assert_int_equal(wal_path_of(&ar, 3, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "00000003.history"));

	/* Before the fork: on to timeline 2; after it, on timeline 1: 2 never had it. */
	assert_int_equal(wal_base_timeline(&ar, &bases[0], &p), 2);
	wal_path_free(&p);
	assert_int_equal(wal_base_timeline(&ar, &bases[1], &p), 1);
	wal_path_free(&p);
	assert_int_equal(wal_base_timeline(&ar, &bases[2], &p), 2);
	wal_path_free(&p);

	assert_int_equal(wal_windows(&ar, bases, 3, &w, &nw, &bad, &nbad, err,
	    sizeof(err)), 0);
	assert_int_equal(nbad, 0);
	assert_int_equal(nw, 2);
	/* Timeline 2's run from segment 2 (backups 1 and 3) to 12; timeline 1's, 8 to 10. */
	assert_int_equal(w[0].timeline, 2);
	assert_int_equal(w[0].nbases, 2);
	assert_true(w[0].from == (time_t)T0 + 2);
	assert_true(w[0].to_us == (T0 + 12) * 1000000 + 500000);
	assert_string_equal(w[0].gap, "");
	assert_int_equal(w[1].timeline, 1);
	assert_int_equal(w[1].last_segno, 10);
	wal_window_text(&w[0], text, sizeof(text));
	assert_non_null(strstr(text, "any time from "));
	wal_windows_of(&ar, bases, 3, w, nw, win_of);
	assert_int_equal(win_of[0], 0);
	assert_int_equal(win_of[1], 1);
	assert_int_equal(win_of[2], 0);
	free(w);
	free(bad);

	/* --at: the newest backup that ended before, on the newest timeline that has it. */
	memset(&t, 0, sizeof(t));
	t.kind = WAL_TARGET_TIME;
	t.at = (time_t)T0 + 11;
	assert_int_equal(wal_plan_target(&ar, bases, 3, &t, &plan, err, sizeof(err)), 0);
	assert_string_equal(plan.base->id, bases[2].id);
	assert_int_equal(plan.timeline, 2);
	assert_int_equal(plan.recovery, WAL_RECOVER_TIME);
	t.at = (time_t)T0 + 5;
	assert_int_equal(wal_plan_target(&ar, bases, 3, &t, &plan, err, sizeof(err)), 0);
	assert_string_equal(plan.base->id, bases[0].id);
	/* After the last commit, or before every backup: outside. */
	t.at = (time_t)T0 + 13;
	assert_int_equal(wal_plan_target(&ar, bases, 3, &t, &plan, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "outside the recoverable window"));
	t.at = (time_t)T0;
	assert_int_equal(wal_plan_target(&ar, bases, 3, &t, &plan, err, sizeof(err)), -1);
	t.kind = WAL_TARGET_LATEST;
	assert_int_equal(wal_plan_target(&ar, bases, 3, &t, &plan, err, sizeof(err)), 0);
	assert_int_equal(plan.timeline, 2);
	assert_int_equal(plan.recovery, WAL_RECOVER_END);
	t.kind = WAL_TARGET_BACKUP;
	t.id = bases[1].id;
	assert_int_equal(wal_plan_target(&ar, bases, 3, &t, &plan, err, sizeof(err)), 0);
	assert_int_equal(plan.recovery, WAL_RECOVER_IMMEDIATE);
	assert_int_equal(plan.timeline, 1);
	t.kind = WAL_TARGET_LSN;
	t.id = NULL;
	t.lsn = 11 * SEG + 100;
	assert_int_equal(wal_plan_target(&ar, bases, 3, &t, &plan, err, sizeof(err)), 0);
	assert_string_equal(plan.base->id, bases[2].id);
	wal_archive_close(&ar);

	/* A gap on timeline 2 at segment 10: the window ends at 9; latest is refused. */
	windows_without(2, 10, &ar, bases, &w, &nw, &bad, &nbad);
	assert_string_equal(w[0].gap, "00000002000000000000000A");
	assert_int_equal(w[0].last_segno, 9);
	assert_int_equal(w[0].missing, 1);
	free(w);
	free(bad);
	t.kind = WAL_TARGET_LATEST;
	assert_int_equal(wal_plan_target(&ar, bases, 3, &t, &plan, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "segment 00000002000000000000000A is missing"));
	t.kind = WAL_TARGET_TIME;
	t.at = (time_t)T0 + 11;
	assert_int_equal(wal_plan_target(&ar, bases, 3, &t, &plan, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "gap"));
	t.at = (time_t)T0 + 9;
	assert_int_equal(wal_plan_target(&ar, bases, 3, &t, &plan, err, sizeof(err)), 0);
	wal_archive_close(&ar);

	/* A backup's own segment missing: it cannot be restored, and says which. */
	windows_without(1, 8, &ar, bases, &w, &nw, &bad, &nbad);
	assert_int_equal(nbad, 1);
	assert_string_equal(bad[0].base->id, bases[1].id);
	assert_string_equal(bad[0].missing, "000000010000000000000008");
	free(w);
	free(bad);
	wal_archive_close(&ar);
}

/* A segment stored twice: the same bytes are accepted, other bytes refused. */
static void
test_store_twice(void **state)
{
	struct segb		b;
	struct walobj_head	h;
	struct wal_store_opts	o;
	char			err[KB_ERRLEN], name[PG_WAL_NAME_MAX], *path;
	int			fd, same;

	segb_one_commit(&b, 1, 30, T0 * 1000000, 1);
	pg_wal_segment_name(1, 30, SEG, name);
	store_file(name, b.buf, SEG);
	path = path_join(dir, name);
	assert_true((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) != -1);
	assert_int_equal(write_all(fd, b.buf, SEG), 0);
	wal_store_opts(&r, &o);
	assert_int_equal(wal_file_scan(fd, name, &h, NULL, err, sizeof(err)), 0);
	assert_int_equal(wal_store(&r.locations[0], r.base, &kr, fd, &h, &o, &same, err,
	    sizeof(err)), 0);
	assert_true(same);
	b.buf[SEG - 1] ^= 1;
	assert_int_equal(pwrite(fd, b.buf, SEG, 0), SEG);
	assert_int_equal(wal_file_scan(fd, name, &h, NULL, err, sizeof(err)), 0);
	assert_int_equal(wal_store(&r.locations[0], r.base, &kr, fd, &h, &o, &same, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "other content"));
	close(fd);
	unlink(path);
	free(path);
	free(b.buf);
}

/*
 * archive.json gone from where the cache saw it (a mount gone): refused,
 * nothing created; without the cache's word, a new archive.
 */
static void
test_identity_gone(void **state)
{
	struct wal_identity	id = { SYSID, SEG };
	char			err[KB_ERRLEN], *cache, *json;

	cache = path_join(dir, "wal-identity");
	json = xasprintf("%s/store/test/gone/wal/archive.json", dir);
	assert_int_equal(wal_identity_check(&r.locations[0], "test/gone", &id, cache, err,
	    sizeof(err)), 0);
	assert_int_equal(access(json, F_OK), 0);
	assert_int_equal(wal_identity_check(&r.locations[0], "test/gone", &id, cache, err,
	    sizeof(err)), 0);
	assert_int_equal(unlink(json), 0);
	assert_int_equal(wal_identity_check(&r.locations[0], "test/gone", &id, cache, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "is gone (no archive.json, which was there)"));
	assert_int_equal(access(json, F_OK), -1);
	assert_int_equal(wal_identity_check(&r.locations[0], "test/gone", &id, NULL, err,
	    sizeof(err)), 0);
	assert_int_equal(access(json, F_OK), 0);
	free(json);
	free(cache);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_walobj),
		cmocka_unit_test(test_walseg_times),
		cmocka_unit_test(test_walseg_identity),
		cmocka_unit_test(test_walseg_damage),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_store_twice),
		cmocka_unit_test(test_identity_gone),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

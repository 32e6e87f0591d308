/*
 * test_binlog: the binary log side of MariaDB/MySQL point-in-time recovery.
 * What the server's log_bin and version make of the dump's options; the
 * dump's position read from its head and tail (MariaDB's and MySQL's
 * forms, missing and malformed ones), the manifest's details and back,
 * binary log file names and the next one, a stored piece's head (its
 * writer's server id too) and a file's writer from its first bytes, and the
 * walk over events that finds where the whole ones end; the filter that
 * takes the GTIDs out of the replayed SQL; GTID positions parsed, and
 * where one stands in a file of GTID events (restore --gtid), with the
 * sets that name no point of it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "engines/my_binlog.h"
#include "runner/binlog/barchive.h"
#include "runner/binlog/bgtid.h"
#include "runner/binlog/blink.h"
#include "runner/binlog/bobj.h"

static void
test_scan(void **state)
{
	static const char head[] =
	    "-- MariaDB dump 10.19\n/*!40101 SET NAMES utf8mb4 */;\n"
	    "-- CHANGE MASTER TO MASTER_USE_GTID=slave_pos;\n--\n"
	    "-- CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000003', MASTER_LOG_POS=1234;\n"
	    "INSERT INTO t VALUES ('-- CHANGE MASTER TO MASTER_LOG_FILE=''x.000001''');\n";
	static const char tail[] = "UNLOCK TABLES;\n\n-- SET GLOBAL gtid_slave_pos='0-1-57,1-2-3';\n"
	    "-- Dump completed\n";
	static const char mysql[] =
	    "SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n"
	    "  3e11fa47-71ca-11e1-9e33-c80aa9429563:1-2';\n"
	    "-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='binlog.000012', SOURCE_LOG_POS=157;\n";
	struct my_binpos	pos;
	char			err[KB_ERRLEN];

	assert_int_equal(my_binpos_scan(head, tail, &pos, err, sizeof(err)), 0);
	assert_string_equal(pos.file, "mysql-bin.000003");
	assert_int_equal(pos.position, 1234);
	assert_string_equal(pos.gtid, "0-1-57,1-2-3");
	assert_int_equal(my_binpos_scan(head, "", &pos, err, sizeof(err)), 0);
	assert_string_equal(pos.gtid, "");
	assert_int_equal(my_binpos_scan(mysql, "", &pos, err, sizeof(err)), 0);
	assert_string_equal(pos.file, "binlog.000012");
	assert_int_equal(pos.position, 157);
	assert_string_equal(pos.gtid, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,"
	    "3e11fa47-71ca-11e1-9e33-c80aa9429563:1-2");
	/* No position, a bad file name, no number, a bad GTID. */
	assert_int_equal(my_binpos_scan("-- MariaDB dump\n", "", &pos, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no binary log position"));
	assert_int_equal(my_binpos_scan("-- CHANGE MASTER TO MASTER_LOG_FILE='../x', "
	    "MASTER_LOG_POS=4;\n", "", &pos, err, sizeof(err)), -1);
	assert_int_equal(my_binpos_scan("-- CHANGE MASTER TO MASTER_LOG_FILE='b.000001', "
	    "MASTER_LOG_POS=;\n", "", &pos, err, sizeof(err)), -1);
	assert_int_equal(my_binpos_scan("-- CHANGE MASTER TO MASTER_LOG_FILE='b.000001', "
	    "MASTER_LOG_POS=4;\n", "-- SET GLOBAL gtid_slave_pos='0-1-2; DROP';\n", &pos, err,
	    sizeof(err)), -1);
}

static void
test_server(void **state)
{
	const char	*opts = NULL;
	char		 err[KB_ERRLEN];

	assert_int_equal(my_binlog_server_check("0\t10.11.19-MariaDB\n", &opts, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "log_bin is off"));
	assert_int_equal(my_binlog_server_check("1\t10.11.19-MariaDB-0+deb12u1-log\n", &opts,
	    err, sizeof(err)), 0);
	assert_string_equal(opts, "--master-data=2 --gtid");
	assert_int_equal(my_binlog_server_check("1\t8.0.35\n", &opts, err, sizeof(err)), 0);
	assert_string_equal(opts, "--source-data=2");
	assert_int_equal(my_binlog_server_check("1\t8.0.25\n", &opts, err, sizeof(err)), 0);
	assert_string_equal(opts, "--master-data=2");
	assert_int_equal(my_binlog_server_check("1\t8.4.3\n", &opts, err, sizeof(err)), 0);
	assert_string_equal(opts, "--source-data=2");
	assert_int_equal(my_binlog_server_check("", &opts, err, sizeof(err)), -1);
}

/* The filter over text cut into pieces of every size from 1 byte. */
static void
filter_check(const char *in, const char *want)
{
	struct my_sql_filter	 f;
	char			*out = xmalloc(strlen(in) + 2 * MY_SQL_FILTER_PEND + 1);
	size_t			 step, i, n, o;

	for (step = 1; step <= strlen(in) + 1; step++) {
		my_sql_filter_init(&f);
		for (i = 0, o = 0; i < strlen(in); i += n) {
			n = strlen(in) - i < step ? strlen(in) - i : step;
			o += my_sql_filter_feed(&f, in + i, n, out + o);
		}
		o += my_sql_filter_end(&f, out + o);
		out[o] = '\0';
		assert_string_equal(out, want);
	}
	free(out);
}

static void
test_filter(void **state)
{
	filter_check("BEGIN\n/*M!100001 SET @@session.gtid_domain_id=0*//*!*/;\n"
	    "/*M!100001 SET @@session.server_id=1*//*!*/;\n"
	    "/*M!100001 SET @@session.gtid_seq_no=11*//*!*/;\nINSERT 1\n"
	    "/*!100001 SET @@session.gtid_seq_no=12*//*!*/;\n/*M!1 x\n/*M!100001 SET @@se",
	    "BEGIN\n/*M!100001 SET @@session.server_id=1*//*!*/;\nINSERT 1\n/*M!1 x\n"
	    "/*M!100001 SET @@se");
	/* Only at a line's start. */
	filter_check("x /*M!100001 SET @@session.gtid_seq_no=1*/\n",
	    "x /*M!100001 SET @@session.gtid_seq_no=1*/\n");
	filter_check("", "");
}

static void
test_details(void **state)
{
	struct my_binpos	 pos, back;
	char			 err[KB_ERRLEN];
	json_t			*d, *bad;

	memset(&pos, 0, sizeof(pos));
	strlcpy(pos.file, "mysql-bin.000003", sizeof(pos.file));
	pos.position = 1234;
	strlcpy(pos.gtid, "0-1-57", sizeof(pos.gtid));
	pos.server = 2;
	pos.server_time = 1764547200;	/* 2025-12-01T00:00:00Z */
	d = my_binpos_details(&pos);
	assert_string_equal(json_string_value(json_object_get(json_object_get(d, "binlog"),
	    "server_time")), "2025-12-01T00:00:00Z");
	assert_int_equal(my_binpos_from_details(d, &back, err, sizeof(err)), 1);
	assert_string_equal(back.file, pos.file);
	assert_int_equal(back.position, 1234);
	assert_string_equal(back.gtid, "0-1-57");
	assert_int_equal(back.server, 2);
	assert_int_equal(back.server_time, pos.server_time);
	json_decref(d);
	bad = json_pack("{s:{s:s,s:i,s:s}}", "binlog", "file", "b.000001", "position", 4,
	    "server_time", "yesterday");
	assert_int_equal(my_binpos_from_details(bad, &back, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "server_time"));
	json_decref(bad);
	assert_int_equal(my_binpos_from_details(NULL, &back, err, sizeof(err)), 0);
	bad = json_pack("{s:{s:s,s:i}}", "binlog", "file", "a/b.000001", "position", 4);
	assert_int_equal(my_binpos_from_details(bad, &back, err, sizeof(err)), -1);
	json_decref(bad);
	bad = json_pack("{s:{s:s,s:i}}", "binlog", "file", "b.000001", "position", -1);
	assert_int_equal(my_binpos_from_details(bad, &back, err, sizeof(err)), -1);
	json_decref(bad);
}

static void
test_names(void **state)
{
	char		base[64], next[64];
	uint32_t	seq;

	assert_int_equal(my_binlog_name_parse("mysql-bin.000003", base, sizeof(base), &seq), 0);
	assert_string_equal(base, "mysql-bin");
	assert_int_equal(seq, 3);
	assert_int_equal(my_binlog_name_parse("mysql-bin.index", base, sizeof(base), &seq), -1);
	assert_int_equal(my_binlog_name_parse("mysql-bin.0003", base, sizeof(base), &seq), -1);
	assert_int_equal(my_binlog_name_parse(".000003", base, sizeof(base), &seq), -1);
	assert_int_equal(binlog_next_name("mysql-bin.000009", next, sizeof(next)), 0);
	assert_string_equal(next, "mysql-bin.000010");
	assert_int_equal(binlog_next_name("b.999999", next, sizeof(next)), 0);
	assert_string_equal(next, "b.1000000");
	assert_int_equal(my_binlog_name_order("mysql-bin.000009", "mysql-bin.000010"), -1);
	assert_int_equal(my_binlog_name_order("mysql-bin.000010", "mysql-bin.000010"), 0);
	assert_int_equal(my_binlog_name_order("mysql-bin.1000000", "mysql-bin.999999"), 1);
	assert_int_equal(my_binlog_name_order("a-bin.000002", "mysql-bin.000001"), 2);
	assert_int_equal(my_binlog_name_order("mysql-bin", "mysql-bin.000001"), 2);
}

/* An event of size bytes stamped ts at buf. */
static void
event(unsigned char *buf, uint32_t ts, uint32_t size)
{
	memset(buf, 0, size);
	buf[0] = ts & 0xff;
	buf[1] = ts >> 8 & 0xff;
	buf[2] = ts >> 16 & 0xff;
	buf[3] = ts >> 24 & 0xff;
	buf[4] = 2;
	buf[9] = size & 0xff;
	buf[10] = size >> 8 & 0xff;
}

static void
test_events(void **state)
{
	unsigned char		buf[4 + 30 + 40 + 25];
	struct bobj_head	h;
	size_t			whole;
	char			err[KB_ERRLEN];

	memcpy(buf, "\xfe" "bin", 4);
	event(buf + 4, 1000, 30);
	event(buf + 34, 1002, 40);
	event(buf + 74, 1005, 25);
	memset(&h, 0, sizeof(h));
	assert_int_equal(bobj_events(buf, sizeof(buf), 0, &whole, &h, err, sizeof(err)), 0);
	assert_int_equal(whole, sizeof(buf));
	assert_int_equal(h.nevents, 3);
	assert_int_equal(h.first, 1000);
	assert_int_equal(h.last, 1005);
	/* The last event cut: the whole ones end before it. */
	assert_int_equal(bobj_events(buf, sizeof(buf) - 1, 0, &whole, &h, err, sizeof(err)), 0);
	assert_int_equal(whole, 74);
	assert_int_equal(h.nevents, 2);
	/* From an event boundary further on. */
	assert_int_equal(bobj_events(buf + 34, 65, 34, &whole, &h, err, sizeof(err)), 0);
	assert_int_equal(whole, 65);
	assert_int_equal(h.first, 1002);
	/* Not a binary log; an event shorter than its header. */
	assert_int_equal(bobj_events((const unsigned char *)"abcd", 4, 0, &whole, &h, err,
	    sizeof(err)), -1);
	event(buf + 4, 1000, 3);
	assert_int_equal(bobj_events(buf, sizeof(buf), 0, &whole, &h, err, sizeof(err)), -1);
}

static void
test_head(void **state)
{
	struct bobj_head	h, back;
	unsigned char		raw[BOBJ_HEAD_LEN];
	char			err[KB_ERRLEN];

	memset(&h, 0, sizeof(h));
	h.offset = 4096;
	h.size = 812;
	h.flags = BOBJ_FINAL;
	h.first = 1764633600;
	h.last = 1764633700;
	h.nevents = 17;
	memset(h.sha256, 0xab, sizeof(h.sha256));
	strlcpy(h.name, "mysql-bin.000003", sizeof(h.name));
	h.server = 4294967295U;
	bobj_encode(&h, raw);
	assert_int_equal(bobj_decode(raw, &back, err, sizeof(err)), 0);
	assert_int_equal(back.offset, 4096);
	assert_int_equal(back.size, 812);
	assert_int_equal(back.flags, BOBJ_FINAL);
	assert_int_equal(back.first, h.first);
	assert_int_equal(back.last, h.last);
	assert_int_equal(back.nevents, 17);
	assert_memory_equal(back.sha256, h.sha256, 32);
	assert_string_equal(back.name, "mysql-bin.000003");
	assert_int_equal(back.server, 4294967295U);
	raw[344 + 3] = 1;	/* a server id over 32 bits */
	assert_int_equal(bobj_decode(raw, &back, err, sizeof(err)), -1);
	raw[344 + 3] = 0;
	raw[0] ^= 1;
	assert_int_equal(bobj_decode(raw, &back, err, sizeof(err)), -1);
	raw[0] ^= 1;
	raw[24] = 4;
	assert_int_equal(bobj_decode(raw, &back, err, sizeof(err)), -1);
}


static void
test_file_server(void **state)
{
	unsigned char	start[4 + 19];
	uint32_t	server = 0;

	memcpy(start, "\xfe" "bin", 4);
	event(start + 4, 1000, 19);
	start[4 + 4] = 15;	/* FORMAT_DESCRIPTION_EVENT */
	start[4 + 5] = 2;
	start[4 + 6] = 1;
	assert_int_equal(bobj_file_server(start, 10, &server), 0);
	assert_int_equal(bobj_file_server(start, sizeof(start), &server), 1);
	assert_int_equal(server, 258);
	start[4 + 4] = 2;	/* another event first: no binary log file */
	assert_int_equal(bobj_file_server(start, sizeof(start), &server), -1);
	start[0] = 'x';
	assert_int_equal(bobj_file_server(start, 6, &server), -1);
}

static void
test_gtid_parse(void **state)
{
	struct my_gtid_pos	 p;
	char			 err[KB_ERRLEN], text[MY_GTID_TEXT];
	static const char *const bad[] = {
		"0-1", "0-1-", "-1-2", "a-1-2", "0-1-2,", "0-1-2,0-3-4", "0-1-2 ", "0:1-2",
		"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", "4294967296-1-2",
		"0-1-99999999999999999999999", NULL
	};
	size_t			 i;

	assert_int_equal(my_gtid_pos_parse("0-1-57,1-2-9", &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.v[1].domain, 1);
	assert_int_equal(p.v[1].server, 2);
	assert_int_equal(p.v[1].seq, 9);
	my_gtid_text(my_gtid_pos_domain(&p, 0), text);
	assert_string_equal(text, "0-1-57");
	assert_null(my_gtid_pos_domain(&p, 7));
	assert_int_equal(my_gtid_pos_parse("", &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(my_gtid_pos_parse("4294967295-4294967295-18446744073709551615", &p,
	    err, sizeof(err)), 0);
	for (i = 0; bad[i] != NULL; i++)
		assert_int_equal(my_gtid_pos_parse(bad[i], &p, err, sizeof(err)), -1);
}

/* A GTID event of (domain, server, seq) at buf: 19 + 8 + 4 + 1 + 4 (a checksum). */
#define GTID_EV	36
static void
gtid_event(unsigned char *buf, uint32_t domain, uint32_t server, uint64_t seq)
{
	int	i;

	event(buf, 1000, GTID_EV);
	buf[4] = 162;
	for (i = 0; i < 4; i++)
		buf[5 + i] = server >> (8 * i) & 0xff;
	for (i = 0; i < 8; i++)
		buf[19 + i] = seq >> (8 * i) & 0xff;
	for (i = 0; i < 4; i++)
		buf[27 + i] = domain >> (8 * i) & 0xff;
}

/* A GTID list event of list[0..n) (domain, server, seq) at buf; its size. */
static size_t
gtid_list_event(unsigned char *buf, const uint32_t (*list)[3], size_t n)
{
	size_t	size = 19 + 4 + 16 * n + 4, i, k;

	event(buf, 1000, (uint32_t)size);
	buf[4] = 163;
	buf[19] = n & 0xff;
	for (i = 0; i < n; i++)
		for (k = 0; k < 16; k++)
			buf[23 + 16 * i + k] = k < 4 ? list[i][0] >> (8 * k) & 0xff :
			    k < 8 ? list[i][1] >> (8 * (k - 4)) & 0xff :
			    (uint64_t)list[i][2] >> (8 * (k - 8)) & 0xff;
	return size;
}

/*
 * A server's file: its GTID list (none when list is NULL), then
 * transactions tx[0..n) (domain, server, seq), each a GTID event and a
 * 50-byte event.  *len its size; offsets[i] where tx[i] starts.  Returns the
 * open file.
 */
static int
server_file(const uint32_t (*list)[3], size_t nlist, const uint32_t (*tx)[3], size_t n,
    uint64_t *len, uint64_t *offsets)
{
	unsigned char	buf[4 + 200 + 16 * (GTID_EV + 50)];
	char		path[] = "/tmp/test_binlog.XXXXXX";
	size_t		i, p = 4;
	int		fd;

	assert_true(n <= 16 && nlist <= 8);
	memcpy(buf, "\xfe" "bin", 4);
	if (list != NULL)
		p += gtid_list_event(buf + p, list, nlist);
	for (i = 0; i < n; i++) {
		offsets[i] = p;
		gtid_event(buf + p, tx[i][0], tx[i][1], tx[i][2]);
		event(buf + p + GTID_EV, 1000, 50);
		p += GTID_EV + 50;
	}
	assert_true((fd = mkstemp(path)) != -1);
	unlink(path);
	assert_int_equal(write(fd, buf, p), (ssize_t)p);
	*len = p;
	return fd;
}

/* A file of transactions tx[0..n) (domain, seq) of server 1, without a GTID list. */
static int
gtid_file(const uint32_t (*tx)[2], size_t n)
{
	uint32_t	tx3[16][3];
	uint64_t	len, off[16];
	size_t		i;

	assert_true(n <= 16);
	for (i = 0; i < n; i++) {
		tx3[i][0] = tx[i][0];
		tx3[i][1] = 1;
		tx3[i][2] = tx[i][1];
	}
	return server_file(NULL, 0, (const uint32_t (*)[3])tx3, n, &len, off);
}

/* Where target stands in the file of tx after a dump at dump: the stop offset, or -1. */
static long
gtid_stop(const uint32_t (*tx)[2], size_t n, const char *target, const char *dump,
    char *err, size_t errlen)
{
	struct my_gtid_pos	 t, d;
	struct bgtid_walk	 w;
	int			 fd = gtid_file(tx, n), rc;

	assert_int_equal(my_gtid_pos_parse(target, &t, err, errlen), 0);
	assert_int_equal(my_gtid_pos_parse(dump, &d, err, errlen), 0);
	rc = bgtid_begin(&w, &t, &d, "B", err, errlen);
	if (rc == 0)
		rc = bgtid_file(&w, fd, "mysql-bin.000001", 4, 0, err, errlen);
	if (rc == 0)
		rc = bgtid_end(&w, "mysql-bin.000001", 4 + n * (GTID_EV + 50), err, errlen);
	close(fd);
	if (rc == -1)
		return -1;
	assert_string_equal(w.stop.file, "mysql-bin.000001");
	return (long)w.stop.position;
}

static void
test_gtid_walk(void **state)
{
	static const uint32_t	one[][2] = { { 0, 5 }, { 0, 6 }, { 0, 7 }, { 0, 9 } };
	static const uint32_t	two[][2] = { { 0, 5 }, { 1, 3 }, { 0, 6 }, { 1, 4 } };
	const long		tx = GTID_EV + 50;
	char			err[KB_ERRLEN];

	/* Stops at the GTID event of the transaction after the target. */
	assert_int_equal(gtid_stop(one, 4, "0-1-6", "0-1-4", err, sizeof(err)), 4 + 2 * tx);
	/* The last transaction: the end of the file. */
	assert_int_equal(gtid_stop(one, 4, "0-1-9", "0-1-4", err, sizeof(err)), 4 + 4 * tx);
	/* The dump's own position: nothing replayed. */
	assert_int_equal(gtid_stop(one, 4, "0-1-4", "0-1-4", err, sizeof(err)), 4);
	/* Two domains, interleaved. */
	assert_int_equal(gtid_stop(two, 4, "0-1-6,1-1-3", "", err, sizeof(err)), 4 + 3 * tx);
	/* No point: 0-1-6 comes before 1-1-4 is reached... */
	assert_int_equal(gtid_stop(two, 4, "0-1-5,1-1-4", "", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no point of the binary log"));
	/* ...a domain the set does not name; a skipped number; another server's. */
	assert_int_equal(gtid_stop(two, 4, "0-1-6", "", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "of domain 1"));
	assert_int_equal(gtid_stop(one, 4, "0-1-8", "0-1-4", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "GTID 0-1-8 is not in the binary log"));
	assert_int_equal(gtid_stop(one, 4, "0-2-6", "0-1-4", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "GTID 0-2-6 is not in the binary log"));
	/* Past the archive; a dump past the target. */
	assert_int_equal(gtid_stop(one, 4, "0-1-12", "0-1-4", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not reach GTID 0-1-12 yet"));
	assert_non_null(strstr(err, "newest archived transaction is 0-1-9"));
	assert_int_equal(gtid_stop(one, 4, "0-1-3", "0-1-4", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "name an older backup"));
}

/* Pieces of mysql-bin.000001 as (from, to, last), through binlog_chain(): the kept ones. */
static size_t
chain_of(const uint64_t (*r)[3], size_t n, struct binlog_piece *v, size_t *nspare)
{
	struct binlog_piece	*spare = NULL;
	size_t			 i, kept = n;

	memset(v, 0, n * sizeof(*v));
	for (i = 0; i < n; i++) {
		strlcpy(v[i].name, "mysql-bin.000001", sizeof(v[i].name));
		strlcpy(v[i].base, "mysql-bin", sizeof(v[i].base));
		v[i].seq = 1;
		v[i].from = r[i][0];
		v[i].to = r[i][1];
		v[i].last = (int)r[i][2];
	}
	*nspare = 0;
	binlog_chain(v, &kept, &spare, nspare);
	free(spare);
	return kept;
}

static void
test_chain(void **state)
{
	/* Two archivers: 0-1000-2000 and 0-1500-2500.  The furthest chain is kept. */
	static const uint64_t	two[][3] = { { 0, 1000, 0 }, { 0, 1500, 0 }, { 1000, 2000, 0 },
	    { 1500, 2500, 0 } };
	/* A .last piece ends the file: its chain wins over a longer one that is not. */
	static const uint64_t	last[][3] = { { 0, 1000, 0 }, { 0, 1200, 1 }, { 1000, 3000, 0 } };
	/* A gap: what lies past it stays. */
	static const uint64_t	gap[][3] = { { 0, 1000, 0 }, { 0, 800, 0 }, { 2000, 3000, 0 } };
	/* One archiver: nothing moves. */
	static const uint64_t	one[][3] = { { 0, 10, 0 }, { 10, 20, 0 }, { 20, 30, 1 } };
	struct binlog_piece	v[4];
	size_t			spare;

	assert_int_equal(chain_of(two, 4, v, &spare), 2);
	assert_int_equal(spare, 2);
	assert_int_equal(v[0].to, 1500);
	assert_int_equal(v[1].from, 1500);
	assert_int_equal(chain_of(last, 3, v, &spare), 2);
	assert_int_equal(v[0].to, 1200);
	assert_true(v[0].last);
	assert_int_equal(v[1].from, 1000);	/* past the .last piece's end: kept, seen */
	assert_int_equal(chain_of(gap, 3, v, &spare), 2);
	assert_int_equal(spare, 1);
	assert_int_equal(v[0].to, 1000);
	assert_int_equal(v[1].from, 2000);
	assert_int_equal(chain_of(one, 3, v, &spare), 3);
	assert_int_equal(spare, 0);
}

/* Where the old history ends: before its last transaction, at the state before it. */
static void
test_handover_tail(void **state)
{
	static const uint32_t	list[][3] = { { 0, 1, 4 }, { 1, 1, 2 } };
	static const uint32_t	tx[][3] = { { 0, 1, 5 }, { 1, 1, 3 }, { 0, 1, 6 } };
	struct my_gtid_pos	 s;
	char			 err[KB_ERRLEN], text[256];
	uint64_t		 len, end, off[3];
	int			 fd;

	(void)state;
	fd = server_file(list, 2, tx, 3, &len, off);
	assert_int_equal(blink_tail(fd, len, &end, &s, err, sizeof(err)), 0);
	assert_int_equal(end, off[2]);
	my_gtid_pos_text(&s, text, sizeof(text));
	assert_string_equal(text, "0-1-5,1-1-3");
	/* The last transaction archived in part (its GTID event, not its rows): the same. */
	assert_int_equal(blink_tail(fd, off[2] + GTID_EV, &end, &s, err, sizeof(err)), 0);
	assert_int_equal(end, off[2]);
	close(fd);
	fd = server_file(list, 2, tx, 0, &len, off);
	assert_int_equal(blink_tail(fd, len, &end, &s, err, sizeof(err)), 0);
	assert_int_equal(end, len);
	my_gtid_pos_text(&s, text, sizeof(text));
	assert_string_equal(text, "0-1-4,1-1-2");
	close(fd);
}

/* One case of blink_continuation(): a server's file against the archive's state. */
struct cont_case {
	const char	*what;
	uint32_t	 list[3][3];
	size_t		 nlist;
	uint32_t	 tx[4][3];
	size_t		 ntx;
	int		 rc;		/* 1: at tx[at]; 0: not yet; -1: refused */
	size_t		 at;
	const char	*why;		/* rc -1: in the message */
};

static void
test_handover_continuation(void **state)
{
	static const struct cont_case	cases[] = {
		{ "a replica: after 0-1-5", { { 0, 1, 3 } }, 1,
		    { { 0, 1, 4 }, { 0, 1, 5 }, { 0, 2, 6 } }, 3, 1, 2, NULL },
		{ "a replica's file that starts at the state", { { 0, 1, 5 } }, 1,
		    { { 0, 2, 6 } }, 1, 1, 0, NULL },
		{ "a replica that had not written on yet", { { 0, 1, 3 } }, 1,
		    { { 0, 1, 4 }, { 0, 1, 5 } }, 2, 0, 0, NULL },
		{ "another transaction under the state's number", { { 0, 1, 3 } }, 1,
		    { { 0, 1, 4 }, { 0, 2, 5 } }, 2, -1, 0,
		    "has 0-2-5 where the archive has 0-1-5 (offset" },
		{ "its own transactions under the archive's numbers", { { 0, 2, 3 } }, 1,
		    { { 0, 2, 4 }, { 0, 2, 6 } }, 2, -1, 0, "has 0-2-4 where the archive has 0-1-5" },
		{ "behind the archive", { { 0, 1, 3 } }, 1,
		    { { 0, 2, 4 }, { 0, 2, 8 } }, 2, -1, 0, "has 0-2-4 where the archive has 0-1-5" },
		{ "its oldest file starts past the archive (purged)", { { 0, 1, 7 } }, 1,
		    { { 0, 2, 8 } }, 1, -1, 0, "purged" },
		{ "a domain the archive does not have", { { 0, 1, 5 }, { 7, 2, 1 } }, 2,
		    { { 0, 2, 6 } }, 1, -1, 0, "domain the archive does not have" },
		{ "an empty GTID list: not the state", { { 0 } }, 0,
		    { { 0, 2, 6 } }, 1, -1, 0, "no transaction of domain 0" },
	};
	struct my_gtid_pos	 want;
	char			 err[KB_ERRLEN];
	uint64_t		 len, start, off[4];
	size_t			 i;
	int			 fd;

	(void)state;
	assert_int_equal(my_gtid_pos_parse("0-1-5", &want, err, sizeof(err)), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fd = server_file(cases[i].list, cases[i].nlist, cases[i].tx, cases[i].ntx, &len,
		    off);
		err[0] = '\0';
		if (blink_continuation(fd, len, &want, &start, err, sizeof(err)) != cases[i].rc)
			fail_msg("%s: not %d (%s)", cases[i].what, cases[i].rc, err);
		if (cases[i].rc == 1 && start != off[cases[i].at])
			fail_msg("%s: at %llu", cases[i].what, (unsigned long long)start);
		if (cases[i].rc == -1 && strstr(err, cases[i].why) == NULL)
			fail_msg("%s: %s", cases[i].what, err);
		close(fd);
	}
}

static void
test_link(void **state)
{
	struct binlog_link	 l, back;
	unsigned char		 raw[BLINK_HEAD_LEN];
	char			 err[KB_ERRLEN];
	uint32_t		 hist;

	(void)state;
	memset(&l, 0, sizeof(l));
	l.hist = 2;
	l.server = 2;
	l.parent_server = 1;
	l.parent_end = 11892;
	l.start = 4145;
	strlcpy(l.parent_file, "mysql-bin.000003", sizeof(l.parent_file));
	strlcpy(l.file, "mysql-bin.000001", sizeof(l.file));
	strlcpy(l.gtid, "0-1-51,1-1-7", sizeof(l.gtid));
	blink_encode(&l, raw);
	assert_int_equal(blink_decode(raw, &back, err, sizeof(err)), 0);
	assert_int_equal(back.hist, 2);
	assert_int_equal(back.server, 2);
	assert_int_equal(back.parent_server, 1);
	assert_int_equal(back.parent_end, 11892);
	assert_int_equal(back.start, 4145);
	assert_string_equal(back.parent_file, "mysql-bin.000003");
	assert_string_equal(back.file, "mysql-bin.000001");
	assert_string_equal(back.gtid, "0-1-51,1-1-7");
	raw[0] ^= 1;
	assert_int_equal(blink_decode(raw, &back, err, sizeof(err)), -1);
	raw[0] ^= 1;
	memset(raw + 48, 'x', BOBJ_NAME_MAX);	/* a name that fills its room */
	assert_int_equal(blink_decode(raw, &back, err, sizeof(err)), -1);
	l.hist = 1;
	blink_encode(&l, raw);
	assert_int_equal(blink_decode(raw, &back, err, sizeof(err)), -1);
	l.hist = 2;
	strlcpy(l.gtid, "0-1", sizeof(l.gtid));
	blink_encode(&l, raw);
	assert_int_equal(blink_decode(raw, &back, err, sizeof(err)), -1);
	assert_int_equal(blink_key_parse("2/link", &hist), 1);
	assert_int_equal(hist, 2);
	assert_int_equal(blink_key_parse("1/link", &hist), 0);
	assert_int_equal(blink_key_parse("2/links", &hist), 0);
	assert_int_equal(blink_key_parse("/link", &hist), 0);
	assert_int_equal(blink_key_parse("mysql-bin.000001/link", &hist), 0);
	assert_int_equal(blink_key_parse("99999999999/link", &hist), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_server),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_details),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_file_server),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_gtid_parse),
		cmocka_unit_test(test_gtid_walk),
		cmocka_unit_test(test_handover_tail),
		cmocka_unit_test(test_handover_continuation),
		cmocka_unit_test(test_link),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

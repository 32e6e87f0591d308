/*
 * fuzz_gtid: the first line of the input as a MariaDB GTID position
 * (my_gtid_pos_parse(), restore --gtid's parser); for what parses, its text
 * parsed again to the same position, and the rest of the input walked as
 * the binary log a restore reads for it (bgtid): whatever the bytes, the
 * walk ends, and a stop it finds lies within them.  The same bytes as a
 * new server's file that must continue the archive at that position, as an
 * archived file whose end and state a failover reads (blink), and as a
 * history link's head: each ends, and an offset found lies within them.
 */
#define _GNU_SOURCE	/* memfd_create */
#include <sys/mman.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "engines/my_binlog.h"
#include "runner/binlog/bgtid.h"
#include "runner/binlog/blink.h"
#include "tests/unit/testutil.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The position's text, parsed again: the same GTIDs. */
static void
roundtrip(const struct my_gtid_pos *p)
{
	struct my_gtid_pos	 back;
	char			 text[MY_GTID_DOMAINS_MAX * (MY_GTID_TEXT + 1)];
	char			 err[KB_ERRLEN];

	my_gtid_pos_text(p, text, sizeof(text));
	if (my_gtid_pos_parse(text, &back, err, sizeof(err)) == -1 || back.n != p->n ||
	    memcmp(back.v, p->v, p->n * sizeof(p->v[0])) != 0)
		abort();
}

/* The bytes at fd as the files of a failover. */
static void
handover(int fd, const struct my_gtid_pos *target, size_t len)
{
	struct my_gtid_pos	 state;
	char			 err[KB_ERRLEN], text[MY_BINLOG_GTID_MAX];
	uint64_t		 end, start;

	if (blink_tail(fd, len, &end, &state, err, sizeof(err)) == 0) {
		if (end > len)
			abort();
		my_gtid_pos_text(&state, text, sizeof(text));
		if (state.n > 0 && my_gtid_pos_parse(text, &state, err, sizeof(err)) == -1)
			abort();
	}
	if (blink_continuation(fd, len, target, &start, err, sizeof(err)) == 1 &&
	    (start < 4 || start >= len))
		abort();
}

/* The bytes as a history link's head: what decodes encodes to the same. */
static void
link_head(const uint8_t *log, size_t len)
{
	struct binlog_link	 l;
	unsigned char		 raw[BLINK_HEAD_LEN], again[BLINK_HEAD_LEN];
	char			 err[KB_ERRLEN];

	memset(raw, 0, sizeof(raw));
	memcpy(raw, log, len < sizeof(raw) ? len : sizeof(raw));
	if (blink_decode(raw, &l, err, sizeof(err)) == -1)
		return;
	blink_encode(&l, again);
	if (blink_decode(again, &l, err, sizeof(err)) == -1)
		abort();
}

static void
walk(const struct my_gtid_pos *target, const uint8_t *log, size_t len)
{
	struct my_gtid_pos	 dump;
	struct bgtid_walk	 w;
	char			 err[KB_ERRLEN];
	int			 fd;

	memset(&dump, 0, sizeof(dump));
	if ((fd = memfd_create("fuzz_gtid", MFD_CLOEXEC)) == -1)
		return;
	if (write(fd, log, len) == (ssize_t)len &&
	    bgtid_begin(&w, target, &dump, "B", err, sizeof(err)) == 0 &&
	    bgtid_file(&w, fd, "mysql-bin.000001", 4, 0, err, sizeof(err)) == 0 &&
	    bgtid_end(&w, "mysql-bin.000001", len, err, sizeof(err)) == 0 &&
	    (!w.done || w.stop.position > len))
		abort();
	handover(fd, target, len);
	close(fd);
	link_head(log, len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct my_gtid_pos	 p;
	const uint8_t		*nl = memchr(data, '\n', size);
	size_t			 n = nl != NULL ? (size_t)(nl - data) : size;
	char			 text[4096], err[KB_ERRLEN];

	if (tu_cstring(text, sizeof(text), data, n) == -1)
		return 0;
	if (my_gtid_pos_parse(text, &p, err, sizeof(err)) == -1)
		return 0;
	roundtrip(&p);
	if (nl != NULL)
		walk(&p, nl + 1, size - n - 1);
	return 0;
}

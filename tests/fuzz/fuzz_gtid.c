/*
 * fuzz_gtid: the first line of the input as a MariaDB GTID position
 * (my_gtid_pos_parse(), restore --gtid's parser); for what parses, its text
 * parsed again to the same position, and the rest of the input walked as
 * the binary log a restore reads for it (bgtid): whatever the bytes, the
 * walk ends, and a stop it finds lies within them.
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
#include "tests/unit/testutil.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The position's text, parsed again: the same GTIDs. */
static void
roundtrip(const struct my_gtid_pos *p)
{
	struct my_gtid_pos	 back;
	char			 text[MY_GTID_DOMAINS_MAX * (MY_GTID_TEXT + 1)], one[MY_GTID_TEXT];
	char			 err[KB_ERRLEN];
	size_t			 i;

	text[0] = '\0';
	for (i = 0; i < p->n; i++) {
		my_gtid_text(&p->v[i], one);
		if (i > 0)
			strlcat(text, ",", sizeof(text));
		strlcat(text, one, sizeof(text));
	}
	if (my_gtid_pos_parse(text, &back, err, sizeof(err)) == -1 || back.n != p->n ||
	    memcmp(back.v, p->v, p->n * sizeof(p->v[0])) != 0)
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
	    bgtid_file(&w, fd, "mysql-bin.000001", 4, err, sizeof(err)) == 0 &&
	    bgtid_end(&w, "mysql-bin.000001", len, err, sizeof(err)) == 0 &&
	    (!w.done || w.stop.position > len))
		abort();
	close(fd);
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

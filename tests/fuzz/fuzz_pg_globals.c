/*
 * fuzz_pg_globals: the globals filter (engines/pg_globals) on arbitrary
 * text, as a restore would get it from a backup.  The first byte picks the
 * mode and the size of the reads; what is kept must not depend on how the
 * input is cut into reads, and is never longer than the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "engines/pg_globals.h"
#include "tests/unit/testutil.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
run(const char *in, size_t len, size_t step, int replace, struct tbuf *s)
{
	static char		*roles[] = { "postgres", "alice", "bob ü", NULL };
	static char		*spaces[] = { "pg_default", "fast", NULL };
	struct pg_globals	*g;
	char			 err[KB_ERRLEN];
	size_t			 i, n;
	int			 rc = 0;

	g = pg_globals_new(roles, spaces, "postgres", replace, tbuf_text_out, s);
	for (i = 0; i < len && rc == 0; i += n) {
		n = step == 0 || len - i < step ? len - i : step;
		rc = pg_globals_feed(g, in + i, n, err, sizeof(err));
	}
	if (rc == 0)
		rc = pg_globals_finish(g, err, sizeof(err));
	pg_globals_free(g);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tbuf	a = { 0 }, b = { 0 };
	int		ra, rb, replace;

	if (size < 1)
		return 0;
	replace = data[0] & 1;
	ra = run((const char *)data + 1, size - 1, 0, replace, &a);
	rb = run((const char *)data + 1, size - 1, 1 + (data[0] >> 1) % 17, replace, &b);
	if (ra != rb || a.len != b.len || (a.len > 0 && memcmp(a.data, b.data, a.len) != 0) ||
	    a.len > size - 1)
		abort();
	tbuf_free(&a);
	tbuf_free(&b);
	return 0;
}

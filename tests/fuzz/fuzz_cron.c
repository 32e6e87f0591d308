/*
 * fuzz_cron: cron_parse() on arbitrary text; for what parses, a few
 * cron_next() calls in UTC and a DST zone, and the OnCalendar= rendering.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cron.h"
#include "common/util.h"
#include "tests/unit/testutil.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cron	c;
	char		expr[CRON_EXPR_MAX + 8], err[KB_ERRLEN], buf[512];
	time_t		t, after = 1774742400;	/* 2026-03-29T00:00:00Z, DST day */
	int		i;

	if (tu_cstring(expr, sizeof(expr), data, size) == -1)
		return 0;
	if (cron_parse(expr, &c, err, sizeof(err)) == -1)
		return 0;
	for (i = 0; i < 3; i++) {
		if (cron_next(&c, i == 1 ? "Europe/Berlin" : NULL, after, &t) == -1)
			break;
		if (t <= after)
			abort();
		after = t;
	}
	(void)cron_oncalendar(&c, buf, sizeof(buf));
	return 0;
}

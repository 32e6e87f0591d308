/*
 * fuzz_config: kbackup.conf text through the reader and every check the
 * runner applies (iniparser reads files, so the input goes through one,
 * in $TMPDIR, removed at exit).
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/config.h"
#include "common/util.h"
#include "runner/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	path[PATH_MAX];

static void
remove_path(void)
{
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*cfg;
	char		 err[KB_ERRLEN], *text;
	const char	*tmp;
	int		 fd;

	if (path[0] == '\0') {
		if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0')
			tmp = "/tmp";
		snprintf(path, sizeof(path), "%s/fuzz-config-%ld.conf", tmp, (long)getpid());
		atexit(remove_path);
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return 0;
	if (write_all(fd, data, size) == -1) {
		close(fd);
		return 0;
	}
	close(fd);
	if (runner_config_load(path, &cfg, err, sizeof(err)) == 0) {
		/* What was accepted must write back out (or be refused cleanly). */
		text = config_write_string(cfg);
		free(text);
		config_free(cfg);
	}
	return 0;
}

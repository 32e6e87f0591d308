/*
 * spool: a stored part in a file of tmp/ for tools that seek.  See spool.h.
 */
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "runner/stream/spool.h"

int
spool_room(const char *dir, uint64_t need, char *err, size_t errlen)
{
	struct statvfs	sv;
	uint64_t	avail;
	char		have[16], want[16];

	if (statvfs(dir, &sv) == -1)
		return errf(err, errlen, "%s: %s", dir, strerror(errno));
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (avail >= need)
		return 0;
	format_bytes(avail, have);
	format_bytes(need, want);
	return errf(err, errlen, "%s has %s free and the spool of restore --jobs needs %s "
	    "(the dump's raw size): free space there, set workdir to a larger file system, "
	    "or restore without --jobs (a stream, no spool)", dir, have, want);
}

int
spool_create(const char *dir, char **path, int *fd, char *err, size_t errlen)
{
	char	*tmpl;

	tmpl = xasprintf("%s/restore-%ld-XXXXXX.spool", dir, (long)getpid());
	if ((*fd = mkstemps(tmpl, 6)) == -1) {
		errf(err, errlen, "spool file in %s: %s", dir, strerror(errno));
		free(tmpl);
		return -1;
	}
	(void)fcntl(*fd, F_SETFD, FD_CLOEXEC);
	*path = tmpl;
	return 0;
}

void
spool_remove(char *path)
{
	if (path == NULL)
		return;
	if (unlink(path) == -1 && errno != ENOENT)
		log_kv(LOGL_WARN, "cannot remove the spool file", "path", path, "error",
		    strerror(errno), NULL);
	free(path);
}

/*
 * memfile: memfd_create(2), filled, sealed; opened by others through /proc.
 */
#define _GNU_SOURCE	/* memfd_create, F_ADD_SEALS: Linux only */

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "common/memfile.h"

/* Linux 6.3: a memfd that can never be made executable (no warning in dmesg). */
#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL	0x0008U
#endif

static int
memfd_new(const char *name)
{
	int	fd;

	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
	if (fd == -1 && errno == EINVAL)	/* a kernel before 6.3 */
		fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return fd;
}

/* Descriptors 0-2 may be free when we were started with them closed: stay clear of them. */
static int
above_stderr(int fd)
{
	int	high;

	if (fd > STDERR_FILENO)
		return fd;
	high = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	close(fd);
	return high;
}

int
memfile_open(struct memfile *mf, const char *name, const void *buf, size_t len, char *err,
    size_t errlen)
{
	int	fd;

	memset(mf, 0, sizeof(*mf));
	mf->fd = -1;
	if ((fd = memfd_new(name)) == -1 || (fd = above_stderr(fd)) == -1)
		return errf(err, errlen, "memfd_create: %s", strerror(errno));
	if (fchmod(fd, 0600) == -1 || write_all(fd, buf, len) == -1 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
	    F_SEAL_SEAL) == -1) {
		errf(err, errlen, "memfd %s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	mf->fd = fd;
	snprintf(mf->path, sizeof(mf->path), "/proc/self/fd/%d", fd);
	return 0;
}

void
memfile_close(struct memfile *mf)
{
	if (mf->path[0] == '\0')
		return;
	close(mf->fd);
	mf->fd = -1;
	mf->path[0] = '\0';
}

int
memfile_scratch(const char *name, char *err, size_t errlen)
{
	int	fd;

	if ((fd = memfd_create(name, MFD_CLOEXEC)) == -1)
		return errf(err, errlen, "memfd_create: %s", strerror(errno));
	return fd;
}

/*
 * lock: fcntl(F_SETLK) on a per-definition file in workdir.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "runner/lock.h"

/*
 * The lock's holder, as the kernel says (0 when it is in another PID
 * namespace), else as the file says.  The file alone can be wrong: a holder
 * writes its pid just after it takes the lock, and until then the file
 * still names the last holder, perhaps a runner that was killed.
 */
static void
holder_pid(int fd, char *buf, size_t len)
{
	struct flock	fl;
	ssize_t		n;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fl.l_pid > 0) {
		snprintf(buf, len, "%ld", (long)fl.l_pid);
		return;
	}
	n = pread(fd, buf, len - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int
lock_acquire(const char *state_dir, const char *definition, char *err, size_t errlen)
{
	struct flock	 fl;
	char		*path, buf[32];
	int		 fd;

	if (mkdir_p(state_dir, 0700, err, errlen) == -1)
		return -1;
	path = path_join(state_dir, "lock");
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		errf(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) == -1) {
		if (errno == EACCES || errno == EAGAIN) {
			holder_pid(fd, buf, sizeof(buf));
			errf(err, errlen, "another kbackup-runner for %s is running (pid %s, "
			    "lock %s)", definition, buf[0] != '\0' ? buf : "unknown", path);
		} else
			errf(err, errlen, "lock %s: %s", path, strerror(errno));
		close(fd);
		free(path);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, strlen(buf), 0) == -1) {
		errf(err, errlen, "write %s: %s", path, strerror(errno));
		close(fd);
		free(path);
		return -1;
	}
	free(path);
	return fd;
}

void
lock_release(int fd)
{
	if (fd != -1)
		close(fd);
}

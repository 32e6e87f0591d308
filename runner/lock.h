/*
 * lock: one runner per backup definition.  --once and run hold a POSIX
 * record lock on WORKDIR/NAMESPACE-NAME.lock for as long as they run; the
 * file names the holder's pid so that a second runner can say who it is.
 * The kernel drops the lock when the process dies: no stale locks.
 */
#ifndef KB_LOCK_H
#define KB_LOCK_H

#include <stddef.h>

/* Returns the lock's fd, or -1 with "... held by pid N" in err. */
int	 lock_acquire(const char *workdir, const char *namespace_, const char *name,
	    char *err, size_t errlen);
void	 lock_release(int fd);

#endif

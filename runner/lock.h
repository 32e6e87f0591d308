/*
 * lock: one runner per backup definition and workdir.  --once, run,
 * restore and prune hold a POSIX record lock on the definition's state
 * directory's "lock" file (WORKDIR/NAMESPACE.NAME/lock) for as long as they
 * run; the file names the holder's pid so that a second runner can say who
 * it is.  The kernel drops the lock when the process dies: no stale locks.
 * Runners on other hosts, or with another workdir, are told apart in
 * storage instead (the job markers of kbackup-format(5)).
 */
#ifndef KB_LOCK_H
#define KB_LOCK_H

#include <stddef.h>

/* Returns the lock's fd, or -1 with "... held by pid N" in err. */
int	 lock_acquire(const char *state_dir, const char *definition, char *err,
	    size_t errlen);
void	 lock_release(int fd);

#endif

/*
 * spool: a stored part, verified, in a file of the state directory's tmp/,
 * for a restore tool that must seek in its input (pg_restore -j reads the
 * archive's table of contents, then each worker reopens it at its own
 * offsets).  The file costs the part's raw size in the workdir's file
 * system while it exists: spool_room() refuses before anything is written
 * when that is not free, and the caller removes the file whatever happens;
 * what a runner killed with SIGKILL left is swept by the next one under the
 * lock (runner_state_sweep()).
 */
#ifndef KB_SPOOL_H
#define KB_SPOOL_H

#include <stddef.h>
#include <stdint.h>

/* 0 if dir's file system has need bytes free (for a writer who is not root), else why not. */
int	 spool_room(const char *dir, uint64_t need, char *err, size_t errlen);
/* A new empty file in dir (mode 0600): its descriptor in *fd, its path in *path. */
int	 spool_create(const char *dir, char **path, int *fd, char *err, size_t errlen);
/* Removes and frees path (NULL: nothing). */
void	 spool_remove(char *path);

#endif

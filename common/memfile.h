/*
 * memfile: bytes in an anonymous memory file (memfd_create(2)) that another
 * program, or a library that only reads files, opens by name as
 * /proc/self/fd/N: a password for a dump tool (PGPASSFILE,
 * --defaults-extra-file), a config text for iniparser.  Nothing of it ever
 * reaches a disk, so a process killed with SIGKILL leaves nothing behind:
 * the memory goes with the last descriptor.
 */
#ifndef KB_MEMFILE_H
#define KB_MEMFILE_H

#include <stddef.h>

struct memfile {
	int	fd;
	char	path[32];	/* "/proc/self/fd/N"; "" when closed (so a zeroed one is closed) */
};

/*
 * A memfile named name (as /proc/PID/fd shows it) holding the len bytes of
 * buf: mode 0600 (libpq ignores a password file others may read),
 * close-on-exec (only a child it is passed to gets it), sealed against any
 * change, at a descriptor above stderr.  The caller wipes its own copy.
 * Fails where the system has no memfd_create(2).
 */
int	 memfile_open(struct memfile *, const char *name, const void *buf, size_t len,
	    char *err, size_t errlen);
/* Closed is a no-op. */
void	 memfile_close(struct memfile *);
/*
 * An empty memory file for scratch bytes of our own (what is stored or
 * fetched whole), close-on-exec: its descriptor, or -1 with err filled.
 */
int	 memfile_scratch(const char *name, char *err, size_t errlen);

#endif

/*
 * pg_client: which PostgreSQL client tools to run against a server.
 *
 * pg_dump refuses a server of a newer major version than its own, and an
 * older pg_restore cannot read a newer pg_dump's archive.  Debian and the
 * PostgreSQL project's apt repository install each major's client tools in
 * ROOT/MAJOR/bin (ROOT: /usr/lib/postgresql), any number side by side.
 * When [postgres] bin_dir is not set, the engine asks the server for its
 * version and takes the client of the same major, else the newest installed
 * one (newer clients dump and restore older servers), and fails before
 * dumping when every installed client is older than the server.
 */
#ifndef KB_PG_CLIENT_H
#define KB_PG_CLIENT_H

#include <stddef.h>

#include "common/memfile.h"

#define PG_CLIENT_ROOT		"/usr/lib/postgresql"
/* Another ROOT, for tests and other layouts (kbackup.conf(5)). */
#define PG_CLIENT_ROOT_ENV	"KBACKUP_POSTGRESQL_ROOT"

/* $KBACKUP_POSTGRESQL_ROOT if set, else PG_CLIENT_ROOT. */
const char	*pg_client_root(void);
/*
 * The majors installed under root: directories named by a number with an
 * executable bin/pg_dump, ascending, in a new array (NULL when none).
 */
int		*pg_client_majors(const char *root, size_t *n);
/*
 * The pure choice: server_major if installed, else the newest installed
 * major not older than the server, else -1.  majors: ascending.
 */
int		 pg_client_choose(const int *majors, size_t n, int server_major);
/*
 * Reads "NUM<TAB>VERSION" (server_version_num and server_version, as psql
 * prints them) into the major version (15 for 150018; 9 for 90624) and
 * the version text ("15.18", up to the first blank).
 */
int		 pg_client_server_version(const char *text, int *major, char *version,
		    size_t len);
/*
 * A libpq password file in a memfile (PGPASSFILE=/proc/self/fd/N): one line
 * matching any host, port, database and user, '\\' and ':' escaped.  Read
 * by libpq's tools and by cockroach sql (CockroachDB 22.2 and later).
 */
int		 pg_passfile_open(struct memfile *, const char *password, char *err,
		    size_t errlen);
/* "13, 15, 16" (or "none") into buf. */
void		 pg_client_majors_text(const int *majors, size_t n, char *buf, size_t len);

#endif

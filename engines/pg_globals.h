/*
 * pg_globals: the output of pg_dumpall --globals-only, restored onto a
 * server that may have some of its roles and tablespaces already.
 *
 * The script is split as psql reads it: meta-command lines (\restrict,
 * \connect) and SQL statements, each up to a ';' outside quotes ('...'
 * with '' doubled, E'...' with backslash escapes, "..." identifiers, --
 * comments).  Each statement is kept or left out by what it is about:
 *
 *   CREATE ROLE r, CREATE TABLESPACE t      only if r (t) does not exist
 *   ALTER, COMMENT ON, SECURITY LABEL ON a role or tablespace, GRANT and
 *   REVOKE ON TABLESPACE t                  missing: only if it did not
 *                                           exist; replace: always
 *   GRANT role TO member (memberships)      missing: only if no member
 *                                           existed; replace: always
 *   anything else (SET, ...)                kept
 *
 * so that in "missing" mode a role of the server is left exactly as it was
 * (its password above all), and "replace" gives existing roles the
 * backup's attributes -- but for the role the restore connects as (self),
 * which is left as it is either way.  What is kept goes out verbatim, in
 * order.
 */
#ifndef KB_PG_GLOBALS_H
#define KB_PG_GLOBALS_H

#include <stddef.h>

#define PG_GLOBALS_STMT_MAX	(16 * 1024 * 1024)	/* one statement, bytes */

/* Kept text goes to out; -1 from it stops the restore (err filled). */
typedef int (*pg_globals_out)(const char *buf, size_t len, void *arg, char *err,
    size_t errlen);

struct pg_globals;

/*
 * roles and tablespaces: what the server has (NULL-terminated, names as the
 * server spells them; copied); self may be NULL;
 * replace: ENGINE_GLOBALS_REPLACE.
 */
struct pg_globals *pg_globals_new(char **roles, char **tablespaces, const char *self,
	    int replace, pg_globals_out out, void *arg);
int	 pg_globals_feed(struct pg_globals *, const char *buf, size_t len, char *err,
	    size_t errlen);
/* The end of the script: a statement left open is an error. */
int	 pg_globals_finish(struct pg_globals *, char *err, size_t errlen);
/* Roles created, and existing roles whose statements were left out. */
void	 pg_globals_counts(const struct pg_globals *, size_t *created, size_t *left);
void	 pg_globals_free(struct pg_globals *);

#endif

/*
 * engine: the interface every database engine implements.
 *
 * An engine turns a database into a byte stream (backup) and a byte stream
 * back into a database (restore), with the database's own tools.  The
 * pipeline reads the dump from the fd backup_begin() returns and writes the
 * restore stream into the fd restore_begin() returns; *_end() waits for the
 * tools and says whether they succeeded: their exit status decides.
 *
 * A backup of several parts (postgres with databases =: one dump per
 * database and the server's globals) is one stored object per part.  An
 * engine that makes them answers parts() with their names, in the order
 * they are written and restored, and the runner streams each through
 * backup_begin()/backup_end() with job->part naming it; a restore streams
 * the parts it takes through restore_begin()/restore_end() the same way.
 * Between the parts of one job the engine may keep state in priv (the
 * client it chose, the password's memfile); release() frees it at the end.
 * Engines of one stream leave parts and release NULL and never see part set.
 *
 * Part names are unique, at most ENGINE_PART_NAME_MAX bytes of UTF-8 (a
 * manifest's part name).  A part that holds one database is named
 * ENGINE_PART_DATABASE followed by the database's name ("database:shop"):
 * restore --only, --database, list and restore --at read the name there.
 * ENGINE_PART_GLOBALS is the server's own (roles, tablespaces), restored
 * before the databases and only where the request asks for it.  A backup
 * of one stream has one part, ENGINE_PART_DATA.
 *
 * Adding an engine: one file in engines/ defining a struct engine_desc and
 * a struct engine_ops, and its line in each of the two tables of
 * engines/registry.c.
 */
#ifndef KB_ENGINE_H
#define KB_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/config.h"

struct engine_ops;

#define ENGINE_PART_DATA	"data"
#define ENGINE_PART_GLOBALS	"globals"
#define ENGINE_PART_DATABASE	"database:"
#define ENGINE_PART_NAME_MAX	255
#define ENGINE_RESTORE_JOBS_MAX	64	/* restore --jobs N and the engines' keys for it */

/*
 * What verify --restore names its scratch databases with (see
 * runner/cmd/verify_restore.c): an engine that backs up every database of a
 * server leaves those out, so that a test restore running at the time is
 * not backed up half-made.
 */
#define ENGINE_SCRATCH_PREFIX	"kbackup_verify_"

/* restore of ENGINE_PART_GLOBALS: what becomes of what the server has already. */
enum engine_globals {
	ENGINE_GLOBALS_MISSING,	/* only what is missing is created; the rest is left as it is */
	ENGINE_GLOBALS_REPLACE	/* existing roles take the backup's attributes and passwords */
};

struct engine_job {
	const struct engine_ops		*ops;
	const struct config		*config;
	const struct config_section	*section;	/* the engine's section */
	/*
	 * A directory of this definition's own for spool and scratch files
	 * (mode 0700); the runner empties it at each start under its lock, so
	 * that nothing a killed job left stays there.
	 */
	const char			*tmpdir;
	/*
	 * verify --restore's scratch files (SQLite), mode 0700: apart from
	 * tmpdir, since verify --restore runs without the lock and a runner
	 * taking it empties tmpdir.  Created by scratch_name() when needed.
	 */
	const char			*scratchdir;
	/* This runner's id (12 hex digits, kept in its state directory): names scratch databases. */
	const char			*runner_id;
	const char			*database;	/* restore: target override, or NULL */
	/* A backup of several parts: the part being streamed (backup, restore), or NULL. */
	const char			*part;
	enum engine_globals		 globals;	/* restore of ENGINE_PART_GLOBALS */
	/*
	 * restore --jobs (engines with restore_jobs()): the part, whole and
	 * verified, in a seekable file for the tool to read with restore_jobs
	 * workers; restore_begin() then gives no fd (-1) and restore_end()
	 * waits for the tool.  NULL: the part comes as a stream on the fd.
	 */
	const char			*restore_file;
	unsigned			 restore_jobs;
	/* restore --data-dir: an empty directory a physical backup goes into, or NULL. */
	const char			*data_dir;
	/*
	 * backup_end() of a backup that succeeded may leave here what the
	 * manifest's details record (a JSON object; the caller takes it):
	 * a physical backup's WAL positions.
	 */
	json_t				*details;
	void				*priv;		/* the engine's own state */
};

/* What verify --restore prints: tables and their row counts. */
struct engine_table_count {
	char		*table;
	uint64_t	 rows;
};

struct engine_sanity {
	struct engine_table_count	*tables;
	size_t				 ntables;
};

/* What the engine's runner pod needs (for the operator). */
struct engine_pod {
	const char	*image;			/* NULL: kbackup/runner-ENGINE */
	const char	*const *env;		/* NAME=VALUE, NULL-terminated */
	const char	*const *volumes;	/* "name:mountPath", NULL-terminated */
	int		 ports[4];		/* extra container ports, 0-terminated */
};

/*
 * What the config schema and the operator need of an engine, apart from
 * what it runs: the operator links these and none of the tools' code.
 */
struct engine_desc {
	const char		*name;		/* also the config section's name */
	const struct config_key	*keys;		/* the section's keys, NULL name ends */
	/* Checks across keys; may be NULL. */
	int	(*validate)(const struct config_section_schema *,
		    const struct config_section *, char *err, size_t errlen);
	/*
	 * May be NULL.  What the runner's pod needs beyond the default
	 * (image kbackup/runner-ENGINE, no env, volumes or extra ports): pod
	 * arrives zeroed, the hook sets what it needs.
	 */
	void	(*pod)(const struct config_section *, struct engine_pod *);
};

struct engine_ops {
	const struct engine_desc *desc;

	/*
	 * May be NULL.  Before a backup writes anything (its job marker
	 * included): refuses what would fail for reasons known up front (no
	 * client tool for the server's version), saying why.
	 */
	int	(*preflight)(struct engine_job *, char *err, size_t errlen);
	/*
	 * May be NULL.  The parts of this backup, decided now (postgres lists
	 * the server's databases at the start of each backup), before anything
	 * is written: *names NULL-terminated, for words_free(), or NULL for a
	 * backup of one stream.
	 */
	int	(*parts)(struct engine_job *, char ***names, char *err, size_t errlen);
	/* May be NULL.  Frees what the engine kept in priv across the calls of a job. */
	void	(*release)(struct engine_job *);

	int	(*backup_begin)(struct engine_job *, int *fd, char *err, size_t errlen);
	/* aborted: the pipeline failed; kill the tools.  Returns 0 iff the dump succeeded. */
	int	(*backup_end)(struct engine_job *, int aborted, char *err, size_t errlen);
	int	(*restore_begin)(struct engine_job *, int *fd, char *err, size_t errlen);
	int	(*restore_end)(struct engine_job *, int aborted, char *err, size_t errlen);
	/*
	 * May be NULL: the engine restores streams only.  Whether part (NULL:
	 * a backup of one stream) can be restored from a file by several
	 * workers (job->restore_file), and how many the config asks for when
	 * the command line does not say (1: a stream, no file).
	 */
	int	(*restore_jobs)(struct engine_job *, const char *part, unsigned *configured);

	/* Database reachable with the configured credentials. */
	int	(*check)(struct engine_job *, char *err, size_t errlen);
	/* Dump tool's version, for the manifest ("pg_dump (PostgreSQL) 15.14"). */
	int	(*tool_version)(struct engine_job *, char *buf, size_t len);

	/*
	 * verify --restore; all NULL when the engine has no scratch database.
	 * scratch_name() turns the runner's name for a scratch database, base
	 * ("kbackup_verify_RUNNERID_PID_START", at most 63 bytes, [0-9a-z_]),
	 * into the engine's: base itself for a server, a file whose name
	 * starts with base in scratchdir; it fails, saying why, when this
	 * definition's backups cannot be restored under another name.
	 * exists() answers 1 or 0, or -1 when it cannot tell.  sanity() fails
	 * when database does not exist; drop() succeeds when it does not.
	 */
	int	(*scratch_name)(struct engine_job *, const char *base, char *buf, size_t len,
		    char *err, size_t errlen);
	/*
	 * The scratch databases there are whose base starts with prefix, for
	 * the runner to drop what killed runs left: in the engine's names (what
	 * drop() takes), each ending in a path component that is base or base
	 * followed by '.' and more.  *names: NULL-terminated, for words_free().
	 * May be NULL: the engine leaves nothing a later run could find.
	 */
	int	(*scratch_list)(struct engine_job *, const char *prefix, char ***names,
		    char *err, size_t errlen);
	int	(*exists)(struct engine_job *, const char *database, char *err, size_t errlen);
	int	(*sanity)(struct engine_job *, const char *database, struct engine_sanity *,
		    char *err, size_t errlen);
	int	(*drop)(struct engine_job *, const char *database, char *err, size_t errlen);

};

/* engines/registry.c */
extern const struct engine_desc *const engine_descs[];
extern const struct engine_ops *const engine_registry[];
const struct engine_desc *engine_desc_find(const char *name);
const struct engine_ops *engine_find(const char *name);
/* "postgres|mysql|..." for messages and the [backup] engine enum. */
const char *engine_names(void);

/* The database a part holds ("database:NAME" gives NAME), or NULL. */
const char *engine_part_database(const char *part);
/* "database shop", "globals": a part as messages name it. */
void	 engine_part_describe(const char *part, char *buf, size_t len);
/* A part's or database's name for a message or a line of output: controls as \xNN. */
void	 engine_name_show(const char *name, char *buf, size_t len);

/* Logs how dropping the database a failed restore had created went (rc 0 or -1). */
void	 engine_log_created_drop(const char *database, int rc, const char *err);
/* The non-empty lines of text, NULL-terminated, for words_free(). */
char	**engine_lines(const char *text);
/*
 * sanity()'s last step, after the query that printed text (may be NULL;
 * freed): -1 if rc is -1, else 0 with its "TABLE<TAB>ROWS" lines added to s.
 */
int	 engine_sanity_done(struct engine_sanity *, int rc, char *text);
void	 engine_sanity_free(struct engine_sanity *);

#endif

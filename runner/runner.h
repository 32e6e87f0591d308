/*
 * runner: what every command works on — the loaded config, the engine, the
 * opened storage locations — and where things live in a location (the
 * storage layout of kbackup-format(5)).
 */
#ifndef KB_RUNNER_H
#define KB_RUNNER_H

#include <stddef.h>

#include "common/config.h"
#include "engines/engine.h"
#include "storage/storage.h"

#define KBACKUP_VERSION "0.1.0"

/* Exit statuses of kbackup-runner(8). */
#define EXIT_OK		0
#define EXIT_JOB	1
#define EXIT_USAGE	2

struct location {
	struct storage			*st;
	const struct config_section	*section;
	char				 desc[256];
	/* The store cannot list unfinished uploads: said once per process, not per sweep. */
	int				 pending_unlisted;
};

struct runner {
	struct config			*cfg;
	const struct config_section	*backup;	/* [backup] */
	const struct config_section	*engine_section;
	const struct engine_ops		*engine;
	const char			*name;
	const char			*namespace_;
	const char			*workdir;
	char				*workdir_own;	/* workdir when derived */
	/*
	 * WORKDIR/NAMESPACE.NAME ('.' is in no name, so no two definitions
	 * share one): the lock, the runner id, the control socket, and tmp/
	 * for the engines' spool files.
	 */
	char				*state_dir;
	char				*tmpdir;	/* state_dir/tmp */
	/* state_dir/scratch: verify --restore's files, which runs without the lock */
	char				*scratchdir;
	/*
	 * state_dir/control.sock, or WORKDIR/kb-HASH.sock where that is longer
	 * than a socket path may be (HASH: of NAMESPACE/NAME).
	 */
	char				*control_path;
	char				 runner_id[13];	/* "" until runner_state_open() */
	char				*base;		/* NAMESPACE/NAME */
	struct location			*locations;
	size_t				 nlocations;
};

/* Takes ownership of cfg.  Opens nothing yet. */
void	 runner_init(struct runner *, struct config *);
/*
 * Creates the state directory and its tmp/ (0700) and reads the runner id
 * (made once, at random, and kept there).  Commands that write need it.
 */
int	 runner_state_open(struct runner *, char *err, size_t errlen);
/* Reads the runner id if the state directory holds one; creates nothing. */
int	 runner_state_read(struct runner *);
/*
 * Empties tmp/: what a killed job left (spool files, passwords of old
 * versions).  Only under the lock: then no other job of ours is running.
 */
void	 runner_state_sweep(struct runner *);
/* Opens every storage location. */
int	 runner_open_storage(struct runner *, char *err, size_t errlen);
void	 runner_free(struct runner *);
/* The location called name ("default" for [storage]), or NULL. */
struct location *runner_location(struct runner *, const char *name);
/* Its config section, before the locations are opened, or NULL. */
const struct config_section *runner_location_section(const struct runner *,
	    const char *name);
void	 runner_engine_job(struct runner *, struct engine_job *, const char *database);

#endif

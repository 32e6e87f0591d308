/*
 * metrics: what the runner tells Prometheus about itself, rendered in the
 * text exposition format (version 0.0.4).
 *
 * One struct metrics per runner (one backup definition).  Jobs update it
 * from any thread (a mutex inside); the HTTP server renders it for /metrics
 * and answers /healthz from it, and --once mode writes it to a node_exporter
 * textfile collector file (atomically: temp file + rename).
 *
 * Every series carries the definition's labels name, namespace and engine.
 * A value that is not known (no job ran yet) is left out, except
 * kbackup_last_success_timestamp_seconds, which is 0 until the run loop has
 * seeded it (metrics_set_last_success() from the newest manifest) or a
 * backup succeeded: "never" must count as "long ago" for alerting.
 */
#ifndef KB_METRICS_H
#define KB_METRICS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum metrics_job {
	METRICS_JOB_BACKUP,
	METRICS_JOB_RESTORE,
	METRICS_NJOBS
};

struct metrics {
	pthread_mutex_t	 lock;
	char		*name;
	char		*namespace;
	char		*engine;
	double		 start_time;
	double		 last_success;			/* backup; 0: never */
	int		 ran[METRICS_NJOBS];
	int		 success[METRICS_NJOBS];
	double		 duration[METRICS_NJOBS];
	int		 have_bytes;
	uint64_t	 raw_bytes;
	uint64_t	 stored_bytes;
	int		 have_stored_backups;
	uint64_t	 stored_backups;		/* ok, future-dated ones included */
	uint64_t	 damaged_backups;
	uint64_t	 future_backups;
	double		 next_run;			/* 0: none scheduled */
	double		 interval;			/* 0: unknown */
	int		 last_job;			/* enum metrics_job, -1: none */
	char		 last_error[256];
	/*
	 * WAL archiving (method = physical): from wal-push's status file in
	 * wal_status_dir when set (wal_method = push), else what the daemon's
	 * stream sets (have_wal).
	 */
	char		*wal_status_dir;
	int		 have_wal;
	double		 wal_last_archived;		/* 0: never */
	uint64_t	 wal_archived;			/* counters */
	uint64_t	 wal_failed;
	double		 wal_pending_since;		/* 0: nothing waits */
	/* Binary log archiving ([mysql] binlog = archive), set by the daemon's sessions. */
	int		 have_binlog;
	double		 binlog_last_event;		/* the newest archived event, 0: none */
	double		 binlog_synced;			/* the archive last held all there was */
	uint64_t	 binlog_pieces;
	uint64_t	 binlog_reconnects;
};

/* start_time: the runner's start (time(NULL) by the caller). */
void	 metrics_init(struct metrics *, const char *name, const char *namespace,
	    const char *engine, time_t start_time);
void	 metrics_free(struct metrics *);

/*
 * A job ended.  end: its end time (the last-success timestamp of a backup);
 * error: its last error line when it failed (for /healthz), or NULL.
 */
void	 metrics_job_done(struct metrics *, enum metrics_job, int success,
	    double duration, time_t end, const char *error);
void	 metrics_set_last_success(struct metrics *, time_t);
void	 metrics_set_backup_bytes(struct metrics *, uint64_t raw, uint64_t stored);
/* What the catalog of the first location holds: ok, damaged, future-dated (of the ok). */
void	 metrics_set_backup_counts(struct metrics *, uint64_t ok, uint64_t damaged,
	    uint64_t future);
/* Next scheduled run (0: none); interval: seconds between two runs (0: unknown). */
void	 metrics_set_next_run(struct metrics *, time_t next, int64_t interval);

/* wal_method = push: the WAL metrics come from wal-push's status file in dir. */
void	 metrics_wal_from_status(struct metrics *, const char *dir);
/* wal_method = stream: a file archived, a push failed, since when WAL waits (0: none). */
void	 metrics_wal_archived(struct metrics *, time_t when);
void	 metrics_wal_failed(struct metrics *);
void	 metrics_wal_pending(struct metrics *, time_t since);

/*
 * binlog = archive: the newest archived event, when the archive last held
 * everything the server had sent (the lag is counted from there), pieces
 * stored so far; a session that started again.
 */
void	 metrics_binlog(struct metrics *, time_t newest_event, time_t synced,
	    uint64_t pieces);
void	 metrics_binlog_reconnect(struct metrics *);

/* 1 if healthy (the last job did not fail, or none ran); else 0 and why in reason. */
int	 metrics_healthy(struct metrics *, char *reason, size_t len);

/* The exposition text; free() it. */
char	*metrics_render(struct metrics *);
struct http_server;
/*
 * Serves GET /metrics (the exposition) and GET /healthz (200 "ok" when the
 * last job did not fail or none ran, else 503 with the reason) on srv.
 */
int	 metrics_serve(struct metrics *, struct http_server *, char *err, size_t errlen);
/* Renders into path via a temporary file and rename(2), mode 0644. */
int	 metrics_write_textfile(struct metrics *, const char *path, char *err,
	    size_t errlen);

#endif

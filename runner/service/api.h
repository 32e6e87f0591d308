/*
 * api: the daemon's control API over HTTP, beside /metrics on [metrics]
 * listen, for kbackup-operator(8), which never execs into a runner's pod:
 * start a backup or a restore, follow the job, read the runner's status.
 *
 * Served only when [metrics] api_token is set (otherwise its paths are 404
 * like any other); every request must carry "Authorization: Bearer TOKEN",
 * compared in constant time, else 401.  JSON in, JSON out:
 *
 *   GET  /api/v1/status     the job running, the next scheduled run, the last
 *                           backup and the last restore, and per location the
 *                           number of backups and the newest one
 *   POST /api/v1/backups    {"requestId": "..."}                       -> 202 job
 *   POST /api/v1/restores   {"requestId": "...", "backup": "latest"|ID,
 *                            "at": TIME, "database": NAME}             -> 202 job
 *   GET  /api/v1/jobs/ID    one job
 *
 * A POST takes the daemon's job slot (control.h) and runs the job in a
 * thread of this module; while another job holds the slot the answer is 409
 * with what is running, as for "trigger".  A requestId (the operator sends
 * its BackupRun's or BackupRestore's UID) that one of the remembered jobs
 * was started for answers 200 with that job instead of starting another:
 * a request repeated after a lost answer or an operator restart runs once.
 *
 * Every job that ends through jobrun (scheduled, triggered or started here)
 * is remembered, the last API_JOBS_MAX of them, in STATE_DIR/api-jobs.json
 * (kept across restarts of the daemon; a job that was running when the
 * daemon stopped is read back as failed).
 */
#ifndef KB_API_H
#define KB_API_H

#include <stddef.h>

#define API_PREFIX		"/api/v1/"
#define API_JOBS_MAX		32
#define API_REQUEST_ID_MAX	128
#define API_BODY_MAX		(16 * 1024)

struct api;
struct control;
struct http_server;
struct jobrun;

/*
 * Serves the API on http when jr's config sets [metrics] api_token; *api is
 * NULL when it does not.  ctl: the job slot.  The token is read once: a
 * changed one takes effect at a restart.
 */
int	 api_start(struct api **, struct http_server *http, struct control *ctl,
	    struct jobrun *jr, char *err, size_t errlen);
/* Stops serving, waits for the jobs it started (cancelled by SIGTERM), frees. */
void	 api_stop(struct api *);

/* 1 if header is "Bearer TOKEN" with token's value (constant time). */
int	 api_token_ok(const char *token, const char *header);

#endif

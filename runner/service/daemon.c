/*
 * daemon: the run loop.
 *
 * The main thread sleeps in poll() on a self-pipe until the next planned
 * run, at most MAX_SLEEP seconds at a time: poll's clock stops while the
 * machine is suspended, so the wall clock is compared with the plan after
 * every wake.  A run whose time has passed is run once, however many were
 * missed, and the plan is recomputed from the clock after the job.
 * Signal handlers only set flags and write to the self-pipe (SIGTERM and
 * SIGINT also request cancellation, which aborts a running job).
 * Triggered jobs run in the control socket's thread; the job slot of
 * control.c keeps scheduled and triggered jobs (and reloads) apart.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cancel.h"
#include "common/cron.h"
#include "common/log.h"
#include "common/tz.h"
#include "common/util.h"
#include "common/proc.h"
#include "runner/service/api.h"
#include "runner/service/archiver.h"
#include "runner/service/control.h"
#include "runner/service/daemon.h"
#include "common/httpd.h"
#include "runner/service/jobrun.h"
#include "runner/schema.h"
#include "runner/service/sdnotify.h"

#define MAX_SLEEP	60	/* seconds: wake to notice suspends and clock jumps */
#define MISSED_SLACK	60	/* seconds late before a run counts as missed */
#define BUSY_RETRY	1	/* seconds between tries while another job runs */

struct daemon {
	const char		*config_path;
	daemon_trigger_fn	 trigger;
	struct runner		*r;
	struct jobrun		 jr;
	struct control		*ctl;
	struct http_server	*http;
	struct api		*api;		/* the control API, or NULL */
	struct archiver		*archiver;	/* wal_method = stream, or NULL */
	struct cron		 cron;
	pthread_mutex_t		 lock;		/* next, last; held to swap r on a reload */
	time_t			 next;
	char			 last[300];
};

/* Sleeps until woken (a signal, a triggered job's end) or ms passed. */
static void
sleep_ms(int ms)
{
	struct pollfd	pfd;

	pfd.fd = cancel_wake_fd();
	pfd.events = POLLIN;
	if (poll(&pfd, 1, ms) > 0)
		cancel_wake_drain();
}

/* "2026-11-24 03:00:00 +0100" in tz; "-" for 0. */
static void
format_local(const char *tz, time_t t, char *buf, size_t len)
{
	struct tm	tm;
	int		off;

	if (t == 0 || tz_localtime(tz, t, &tm) == -1) {
		strlcpy(buf, "-", len);
		return;
	}
	off = (int)(tm.tm_gmtoff / 60);
	if (off < 0)
		off = -off;
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d %c%02d%02d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    tm.tm_gmtoff < 0 ? '-' : '+', (off / 60) % 100, off % 60);
}

static const char *
timezone_of(const struct runner *r)
{
	return config_get(r->backup, "timezone");
}

static void
status_update(struct daemon *d)
{
	char	next[64], last[300];

	pthread_mutex_lock(&d->lock);
	format_local(timezone_of(d->r), d->next, next, sizeof(next));
	strlcpy(last, d->last, sizeof(last));
	pthread_mutex_unlock(&d->lock);
	sd_notify_status("next backup %s; last: %s", next, last[0] != '\0' ? last : "none");
}

/* Plans the first run after `after`. */
static void
plan(struct daemon *d, time_t after)
{
	time_t	next = 0;
	char	buf[64];

	if (cron_next(&d->cron, timezone_of(d->r), after, &next) == -1) {
		log_kv(LOGL_ERROR, "the schedule names no further run", "schedule",
		    config_get(d->r->backup, "schedule"), NULL);
		next = 0;
	}
	pthread_mutex_lock(&d->lock);
	d->next = next;
	pthread_mutex_unlock(&d->lock);
	metrics_set_next_run(&d->jr.metrics, next, cron_interval_hint(&d->cron));
	format_local(timezone_of(d->r), next, buf, sizeof(buf));
	log_kv(LOGL_DEBUG, "next backup planned", "at", buf, NULL);
	status_update(d);
}

static void
record_last(struct daemon *d, const char *job, int rc, const struct job_result *res)
{
	char	ts[21];

	time_to_rfc3339(time(NULL), ts);
	pthread_mutex_lock(&d->lock);
	snprintf(d->last, sizeof(d->last), "%s %s%s%s at %s", job,
	    rc == EXIT_OK ? "succeeded" : "failed", res != NULL && res->id[0] ? " " : "",
	    res != NULL ? res->id : "", ts);
	pthread_mutex_unlock(&d->lock);
}

/* The control socket's job callback, in its worker thread, the job slot held. */
static int
triggered_job(void *arg, int argc, char **argv)
{
	struct daemon		*d = arg;
	struct job_result	 res;
	int			 rc, dry = 0, i;

	memset(&res, 0, sizeof(res));
	for (i = 1; i < argc; i++)
		dry |= strcmp(argv[i], "--dry-run") == 0;
	rc = d->trigger(d->r, &d->jr, argc, argv, &res);
	if (!dry)
		record_last(d, argv[0], rc, strcmp(argv[0], "backup") == 0 ? &res : NULL);
	cancel_wake();
	return rc;
}

/*
 * In the control socket's thread: the runner is read under d->lock, which a
 * reload holds to swap it, and sent after (a slow client holds no lock).
 */
static void
status_lines(void *arg, void (*emit)(void *, const char *), void *ctx)
{
	struct daemon	*d = arg;
	char		 sched[400], next[400], last[400], when[64];

	pthread_mutex_lock(&d->lock);
	format_local(timezone_of(d->r), d->next, when, sizeof(when));
	snprintf(sched, sizeof(sched), "schedule: %s (%s)", config_get(d->r->backup,
	    "schedule"), timezone_of(d->r));
	snprintf(next, sizeof(next), "next backup: %s", when);
	snprintf(last, sizeof(last), "last job: %s", d->last[0] != '\0' ? d->last : "none");
	pthread_mutex_unlock(&d->lock);
	emit(ctx, sched);
	emit(ctx, next);
	emit(ctx, last);
}

/* A scheduled backup; -1 if another job holds the slot (try again soon). */
static int
scheduled_backup(struct daemon *d)
{
	struct job_result	res;
	char			desc[64], id[17], busy[400];
	int			rc;

	time_to_id(time(NULL), id);
	snprintf(desc, sizeof(desc), "backup %s", id);
	if (control_job_begin(d->ctl, desc, busy, sizeof(busy)) == -1)
		return -1;
	sd_notify_status("running backup %s", id);
	rc = jobrun_backup(&d->jr, &res);
	record_last(d, "backup", rc, &res);
	control_job_end(d->ctl);
	return 0;
}

/* SIGHUP: a new runner from the file, swapped in between jobs. */
static int
reload(struct daemon *d)
{
	struct config	*cfg;
	struct runner	 nr, old;
	char		 err[KB_ERRLEN], busy[400];
	const char	*ol, *nl;

	if (control_job_begin(d->ctl, "reload", busy, sizeof(busy)) == -1)
		return -1;
	sd_notify_reloading();
	log_kv(LOGL_INFO, "rereading the configuration", "path", d->config_path, NULL);
	if (runner_config_load(d->config_path, &cfg, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "configuration not reloaded: keeping the old one", "error",
		    err, NULL);
		goto out;
	}
	runner_init(&nr, cfg);
	/* The lock, the socket and the runner id belong to the definition's state directory. */
	if (strcmp(nr.state_dir, d->r->state_dir) != 0) {
		log_kv(LOGL_ERROR, "configuration not reloaded: name, namespace or workdir "
		    "changed (restart the daemon for that)", "state_dir", nr.state_dir, NULL);
		runner_free(&nr);
		goto out;
	}
	strlcpy(nr.runner_id, d->r->runner_id, sizeof(nr.runner_id));
	if (runner_open_storage(&nr, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "configuration not reloaded: keeping the old one", "error",
		    err, NULL);
		runner_free(&nr);
		goto out;
	}
	ol = config_get(config_section(d->r->cfg, "metrics"), "listen");
	nl = config_get(config_section(nr.cfg, "metrics"), "listen");
	if ((ol == NULL) != (nl == NULL) || (ol != NULL && strcmp(ol, nl) != 0))
		log_kv(LOGL_WARN, "[metrics] listen changed: takes effect at a restart", NULL);
	child_set_env_denylist(config_secret_env_names(nr.cfg));
	/* The stream reads the old config: stopped before it goes, started on the new. */
	archiver_stop(d->archiver);
	/* trigger status reads the runner from the control socket's thread. */
	old = *d->r;
	pthread_mutex_lock(&d->lock);
	*d->r = nr;
	pthread_mutex_unlock(&d->lock);
	runner_free(&old);
	if (archiver_start(&d->archiver, d->r, &d->jr.metrics, err, sizeof(err)) == -1)
		log_kv(LOGL_ERROR, "WAL streaming not started", "error", err, NULL);
	cron_parse(config_get(d->r->backup, "schedule"), &d->cron, err, sizeof(err));
	log_kv(LOGL_INFO, "configuration reloaded", "schedule",
	    config_get(d->r->backup, "schedule"), "timezone", timezone_of(d->r), NULL);
	plan(d, time(NULL));
out:
	control_job_end(d->ctl);
	sd_notify_ready();
	return 0;
}

/*
 * A run missed while the daemon was stopped: the next run after the newest
 * backup is already past.  Made up once, at once.
 */
static void
plan_start(struct daemon *d)
{
	time_t	now = time(NULL), after_last;
	double	last;

	plan(d, now);
	pthread_mutex_lock(&d->jr.metrics.lock);
	last = d->jr.metrics.last_success;
	pthread_mutex_unlock(&d->jr.metrics.lock);
	if (last > 0 && cron_next(&d->cron, timezone_of(d->r), (time_t)last,
	    &after_last) == 0 && after_last + MISSED_SLACK < now) {
		log_kv(LOGL_INFO, "a scheduled backup was missed while the runner was "
		    "stopped: running it now", NULL);
		pthread_mutex_lock(&d->lock);
		d->next = now;
		pthread_mutex_unlock(&d->lock);
	}
}

static void
loop(struct daemon *d)
{
	time_t	now, next, replan;
	char	planned[64];
	int64_t	wait;

	int	hup = 0;

	while (!cancel_requested()) {
		hup |= cancel_hangup_take();
		if (hup) {
			if (reload(d) == -1) {
				sleep_ms(BUSY_RETRY * 1000);
				continue;
			}
			hup = 0;
		}
		now = time(NULL);
		pthread_mutex_lock(&d->lock);
		next = d->next;
		pthread_mutex_unlock(&d->lock);
		/* The clock went back: the plan is further away than the schedule says. */
		if (next > now && cron_next(&d->cron, timezone_of(d->r), now, &replan) == 0 &&
		    replan < next) {
			plan(d, now);
			continue;
		}
		if (next != 0 && now >= next) {
			if (now > next + MISSED_SLACK) {
				format_local(timezone_of(d->r), next, planned, sizeof(planned));
				log_kv(LOGL_INFO, "scheduled backup missed (suspend or clock "
				    "change): running it now", "planned", planned, NULL);
			}
			if (scheduled_backup(d) == -1) {
				sleep_ms(BUSY_RETRY * 1000);
				continue;
			}
			if (!cancel_requested())
				plan(d, time(NULL));
			continue;
		}
		wait = next == 0 ? MAX_SLEEP : next - now;
		if (wait > MAX_SLEEP)
			wait = MAX_SLEEP;
		sleep_ms((int)wait * 1000);
		status_update(d);
	}
}

static int
daemon_start(struct daemon *d, char *err, size_t errlen)
{
	struct control_config	 cc;
	const char		*listen = config_get(config_section(d->r->cfg, "metrics"),
				    "listen");

	if (cron_parse(config_get(d->r->backup, "schedule"), &d->cron, err, errlen) == -1)
		return errprefix(err, errlen, "[backup] schedule");
	if (mkdir_p(d->r->state_dir, 0700, err, errlen) == -1)
		return -1;
	if (listen != NULL && *listen != '\0' &&
	    (http_start(listen, &d->http, err, errlen) == -1 ||
	    metrics_serve(&d->jr.metrics, d->http, err, errlen) == -1))
		return errprefix(err, errlen, "[metrics] listen %s", listen);
	/*
	 * The first count of the stored backups, before the control socket,
	 * the API and the archiver exist: a job they started would use the
	 * locations' storage from its thread at the same time.
	 */
	jobrun_seed(&d->jr);
	memset(&cc, 0, sizeof(cc));
	cc.socket_path = d->r->control_path;
	cc.definition = d->r->base;
	cc.job = triggered_job;
	cc.status = status_lines;
	cc.arg = d;
	cc.chain = notify_tail_hook;
	cc.chain_arg = &d->jr.tail;
	if (control_start(&d->ctl, &cc, err, errlen) == -1)
		return -1;
	if (archiver_start(&d->archiver, d->r, &d->jr.metrics, err, errlen) == -1)
		return -1;
	return api_start(&d->api, d->http, d->ctl, &d->jr, err, errlen);
}

int
daemon_run(struct runner *r, const char *config_path, daemon_trigger_fn trigger)
{
	struct daemon	 d;
	char		 err[KB_ERRLEN], port[8];
	int		 rc = EXIT_OK;

	memset(&d, 0, sizeof(d));
	d.config_path = config_path;
	d.trigger = trigger;
	d.r = r;
	pthread_mutex_init(&d.lock, NULL);
	jobrun_init(&d.jr, r, time(NULL));
	if (daemon_start(&d, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "daemon not started", "error", err, NULL);
		rc = EXIT_JOB;
		goto out;
	}
	snprintf(port, sizeof(port), "%u", d.http != NULL ? http_port(d.http) : 0);
	log_kv(LOGL_INFO, "daemon started", "schedule", config_get(r->backup, "schedule"),
	    "timezone", timezone_of(r), "metrics_port", d.http != NULL ? port : "none",
	    NULL);
	plan_start(&d);
	sd_notify_ready();
	loop(&d);
	log_kv(LOGL_INFO, "stopping", NULL);
	sd_notify_stopping();
out:
	archiver_stop(d.archiver);
	api_stop(d.api);	/* its jobs hold the control's slot */
	control_stop(d.ctl);
	if (d.http != NULL)
		http_stop(d.http);
	jobrun_free(&d.jr);
	pthread_mutex_destroy(&d.lock);
	return rc;
}

int
daemon_schedule_print(struct runner *r, int count, FILE *out)
{
	const char	*expr = config_get(r->backup, "schedule");
	const char	*tz = timezone_of(r);
	struct cron	 c;
	char		 err[256], local[64], utc[21], cal[512], *line, *p;
	time_t		 t = time(NULL);
	int		 i, n;

	if (cron_parse(expr, &c, err, sizeof(err)) == -1) {
		log_kv(LOGL_ERROR, "bad schedule", "schedule", expr, "error", err, NULL);
		return EXIT_USAGE;
	}
	fprintf(out, "schedule: %s (timezone %s)\n", expr, tz);
	for (i = 0; i < count; i++) {
		if (cron_next(&c, tz, t, &t) == -1)
			break;
		format_local(tz, t, local, sizeof(local));
		time_to_rfc3339(t, utc);
		fprintf(out, "%s  %s\n", local, utc);
	}
	if ((n = cron_oncalendar(&c, cal, sizeof(cal))) == -1) {
		if (c.every > 0)
			fprintf(out, "no OnCalendar= equivalent; a timer would use "
			    "OnUnitActiveSec=%llds\n", (long long)c.every);
	} else {
		for (p = cal; (line = strsep(&p, "\n")) != NULL;)
			fprintf(out, "OnCalendar=%s%s%s\n", line, tz_is_utc(tz) ? "" : " ",
			    tz_is_utc(tz) ? "" : tz);
	}
	return EXIT_OK;
}

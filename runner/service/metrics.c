/*
 * metrics: the runner's Prometheus metrics and their text exposition.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/httpd.h"
#include "common/util.h"
#include "runner/service/metrics.h"
#include "runner/wal/status.h"

/*
 * Name of the label telling backup from restore.  Note: Prometheus renames an
 * exposed "job" label to "exported_job" when it attaches its own target label.
 */
#define METRICS_JOB_LABEL	"job"

static const char *job_names[METRICS_NJOBS] = { "backup", "restore" };

void
metrics_init(struct metrics *m, const char *name, const char *namespace,
    const char *engine, time_t start_time)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->name = xstrdup(name != NULL ? name : "");
	m->namespace = xstrdup(namespace != NULL ? namespace : "default");
	m->engine = xstrdup(engine != NULL ? engine : "");
	m->start_time = (double)start_time;
	m->last_job = -1;
}

void
metrics_free(struct metrics *m)
{
	free(m->name);
	free(m->namespace);
	free(m->engine);
	free(m->wal_status_dir);
	pthread_mutex_destroy(&m->lock);
	memset(m, 0, sizeof(*m));
}

void
metrics_job_done(struct metrics *m, enum metrics_job job, int success,
    double duration, time_t end, const char *error)
{
	pthread_mutex_lock(&m->lock);
	m->ran[job] = 1;
	m->success[job] = success != 0;
	m->duration[job] = duration;
	m->last_job = (int)job;
	if (success && job == METRICS_JOB_BACKUP)
		m->last_success = (double)end;
	if (success)
		m->last_error[0] = '\0';
	else
		strlcpy(m->last_error, error != NULL ? error : "", sizeof(m->last_error));
	pthread_mutex_unlock(&m->lock);
}

void
metrics_set_last_success(struct metrics *m, time_t t)
{
	pthread_mutex_lock(&m->lock);
	if ((double)t > m->last_success)
		m->last_success = (double)t;
	pthread_mutex_unlock(&m->lock);
}

void
metrics_set_backup_bytes(struct metrics *m, uint64_t raw, uint64_t stored)
{
	pthread_mutex_lock(&m->lock);
	m->have_bytes = 1;
	m->raw_bytes = raw;
	m->stored_bytes = stored;
	pthread_mutex_unlock(&m->lock);
}

void
metrics_set_backup_counts(struct metrics *m, uint64_t ok, uint64_t damaged,
    uint64_t future)
{
	pthread_mutex_lock(&m->lock);
	m->have_stored_backups = 1;
	m->stored_backups = ok;
	m->damaged_backups = damaged;
	m->future_backups = future;
	pthread_mutex_unlock(&m->lock);
}

void
metrics_set_next_run(struct metrics *m, time_t next, int64_t interval)
{
	pthread_mutex_lock(&m->lock);
	m->next_run = (double)next;
	m->interval = interval > 0 ? (double)interval : 0;
	pthread_mutex_unlock(&m->lock);
}

void
metrics_wal_from_status(struct metrics *m, const char *dir)
{
	pthread_mutex_lock(&m->lock);
	free(m->wal_status_dir);
	m->wal_status_dir = xstrdup_or_null(dir);
	pthread_mutex_unlock(&m->lock);
}

void
metrics_wal_archived(struct metrics *m, time_t when)
{
	pthread_mutex_lock(&m->lock);
	m->have_wal = 1;
	m->wal_last_archived = (double)when;
	m->wal_archived++;
	pthread_mutex_unlock(&m->lock);
}

void
metrics_wal_failed(struct metrics *m)
{
	pthread_mutex_lock(&m->lock);
	m->have_wal = 1;
	m->wal_failed++;
	pthread_mutex_unlock(&m->lock);
}

void
metrics_wal_pending(struct metrics *m, time_t since)
{
	pthread_mutex_lock(&m->lock);
	m->have_wal = 1;
	m->wal_pending_since = (double)since;
	pthread_mutex_unlock(&m->lock);
}

void
metrics_binlog(struct metrics *m, time_t newest_event, time_t synced, uint64_t pieces)
{
	pthread_mutex_lock(&m->lock);
	m->have_binlog = 1;
	if (newest_event > 0)
		m->binlog_last_event = (double)newest_event;
	if (synced > 0)
		m->binlog_synced = (double)synced;
	m->binlog_pieces = pieces;
	pthread_mutex_unlock(&m->lock);
}

void
metrics_binlog_reconnect(struct metrics *m)
{
	pthread_mutex_lock(&m->lock);
	m->have_binlog = 1;
	m->binlog_reconnects++;
	pthread_mutex_unlock(&m->lock);
}

int
metrics_healthy(struct metrics *m, char *reason, size_t len)
{
	int	ok;

	pthread_mutex_lock(&m->lock);
	ok = m->last_job < 0 || m->success[m->last_job];
	if (!ok)
		snprintf(reason, len, "last %s failed: %s", job_names[m->last_job],
		    m->last_error[0] != '\0' ? m->last_error : "unknown error");
	else if (len > 0)
		reason[0] = '\0';
	pthread_mutex_unlock(&m->lock);
	return ok;
}

/* Label value escaping of the exposition format: backslash, quote, newline. */
static void
put_label_value(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '"')
			fputs("\\\"", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void
put_header(FILE *f, const char *metric, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", metric, help, metric, type);
}

/* One sample: metric{name=..,namespace=..,engine=..[,extra_key="extra_value"]} value */
static void
put_sample(FILE *f, const struct metrics *m, const char *metric, const char *extra_key,
    const char *extra_value, double value)
{
	fprintf(f, "%s{name=\"", metric);
	put_label_value(f, m->name);
	fputs("\",namespace=\"", f);
	put_label_value(f, m->namespace);
	fputs("\",engine=\"", f);
	put_label_value(f, m->engine);
	fputc('"', f);
	if (extra_key != NULL) {
		fprintf(f, ",%s=\"", extra_key);
		put_label_value(f, extra_value);
		fputc('"', f);
	}
	/* %.17g keeps timestamps and byte counts exact. */
	fprintf(f, "} %.17g\n", value);
}

static void
render_jobs(FILE *f, const struct metrics *m)
{
	int	i, any = 0;

	for (i = 0; i < METRICS_NJOBS; i++)
		any |= m->ran[i];
	if (!any)
		return;
	put_header(f, "kbackup_last_run_success", "gauge",
	    "1 if the last run of the job succeeded, 0 if it failed.");
	for (i = 0; i < METRICS_NJOBS; i++)
		if (m->ran[i])
			put_sample(f, m, "kbackup_last_run_success", METRICS_JOB_LABEL,
			    job_names[i], m->success[i]);
	put_header(f, "kbackup_last_run_duration_seconds", "gauge",
	    "Duration of the last run of the job.");
	for (i = 0; i < METRICS_NJOBS; i++)
		if (m->ran[i])
			put_sample(f, m, "kbackup_last_run_duration_seconds",
			    METRICS_JOB_LABEL, job_names[i], m->duration[i]);
}

/* The WAL archive's series; wal-push's status file is read as the page is made. */
static void
render_wal(FILE *f, const struct metrics *m)
{
	struct wal_status	st;
	double			last = m->wal_last_archived, pending = m->wal_pending_since;
	double			lag;
	uint64_t		archived = m->wal_archived, failed = m->wal_failed;

	if (m->wal_status_dir != NULL) {
		if (wal_status_read(m->wal_status_dir, &st) == -1)
			return;
		last = (double)st.last_archived;
		archived = st.archived;
		failed = st.failed;
		pending = (double)st.pending_since;
	} else if (!m->have_wal)
		return;
	lag = pending > 0 ? (double)time(NULL) - pending : 0;
	put_header(f, "kbackup_wal_last_archived_timestamp_seconds", "gauge",
	    "Time the last WAL file was archived, seconds since the epoch (0: none yet).");
	put_sample(f, m, "kbackup_wal_last_archived_timestamp_seconds", NULL, NULL, last);
	put_header(f, "kbackup_wal_archive_lag_seconds", "gauge",
	    "Age of the oldest WAL completed (wal-push) or received (stream) and not yet "
	    "archived; 0 when none waits.");
	put_sample(f, m, "kbackup_wal_archive_lag_seconds", NULL, NULL, lag > 0 ? lag : 0);
	put_header(f, "kbackup_wal_archived_total", "counter", "WAL files archived.");
	put_sample(f, m, "kbackup_wal_archived_total", NULL, NULL, (double)archived);
	put_header(f, "kbackup_wal_push_failures_total", "counter",
	    "Attempts to archive a WAL file that failed (PostgreSQL or the stream tries again).");
	put_sample(f, m, "kbackup_wal_push_failures_total", NULL, NULL, (double)failed);
}

/* The binary log archive's series. */
static void
render_binlog(FILE *f, const struct metrics *m)
{
	double	lag;

	if (!m->have_binlog)
		return;
	lag = m->binlog_synced > 0 ? (double)time(NULL) - m->binlog_synced :
	    (double)time(NULL) - m->start_time;
	put_header(f, "kbackup_binlog_last_event_timestamp_seconds", "gauge",
	    "Time of the newest archived binary log event, seconds since the epoch (0: none).");
	put_sample(f, m, "kbackup_binlog_last_event_timestamp_seconds", NULL, NULL,
	    m->binlog_last_event);
	put_header(f, "kbackup_binlog_archive_lag_seconds", "gauge",
	    "Seconds since the archive last held every binary log event the server had sent "
	    "(at most binlog_flush while archiving works).");
	put_sample(f, m, "kbackup_binlog_archive_lag_seconds", NULL, NULL, lag > 0 ? lag : 0);
	put_header(f, "kbackup_binlog_pieces_total", "counter",
	    "Binary log pieces archived.");
	put_sample(f, m, "kbackup_binlog_pieces_total", NULL, NULL, (double)m->binlog_pieces);
	put_header(f, "kbackup_binlog_reconnects_total", "counter",
	    "Times binary log archiving started again after its connection or an upload "
	    "failed.");
	put_sample(f, m, "kbackup_binlog_reconnects_total", NULL, NULL,
	    (double)m->binlog_reconnects);
}

static void
render(FILE *f, const struct metrics *m)
{
	put_header(f, "kbackup_runner_start_timestamp_seconds", "gauge",
	    "Start time of the runner, seconds since the epoch.");
	put_sample(f, m, "kbackup_runner_start_timestamp_seconds", NULL, NULL,
	    m->start_time);
	put_header(f, "kbackup_last_success_timestamp_seconds", "gauge",
	    "End time of the last successful backup, seconds since the epoch (0: none known).");
	put_sample(f, m, "kbackup_last_success_timestamp_seconds", NULL, NULL,
	    m->last_success);
	render_jobs(f, m);
	if (m->have_bytes) {
		put_header(f, "kbackup_last_backup_bytes", "gauge",
		    "Size of the last backup: raw (dump output) and stored (compressed, encrypted).");
		put_sample(f, m, "kbackup_last_backup_bytes", "kind", "raw",
		    (double)m->raw_bytes);
		put_sample(f, m, "kbackup_last_backup_bytes", "kind", "stored",
		    (double)m->stored_bytes);
	}
	if (m->have_stored_backups) {
		put_header(f, "kbackup_stored_backups", "gauge",
		    "Number of backups kept in storage.");
		put_sample(f, m, "kbackup_stored_backups", NULL, NULL,
		    (double)m->stored_backups);
		put_header(f, "kbackup_damaged_backups", "gauge",
		    "Number of backups whose manifest cannot be read or does not check out, "
		    "or whose data is missing (never pruned on their own).");
		put_sample(f, m, "kbackup_damaged_backups", NULL, NULL,
		    (double)m->damaged_backups);
		put_header(f, "kbackup_future_backups", "gauge",
		    "Number of backups dated ahead of this host's clock (never taken as latest).");
		put_sample(f, m, "kbackup_future_backups", NULL, NULL,
		    (double)m->future_backups);
	}
	if (m->next_run > 0) {
		put_header(f, "kbackup_next_run_timestamp_seconds", "gauge",
		    "Time of the next scheduled backup, seconds since the epoch.");
		put_sample(f, m, "kbackup_next_run_timestamp_seconds", NULL, NULL,
		    m->next_run);
	}
	if (m->interval > 0) {
		put_header(f, "kbackup_schedule_interval_seconds", "gauge",
		    "Expected seconds between two scheduled backups.");
		put_sample(f, m, "kbackup_schedule_interval_seconds", NULL, NULL,
		    m->interval);
	}
	render_wal(f, m);
	render_binlog(f, m);
}

char *
metrics_render(struct metrics *m)
{
	FILE	*f;
	char	*buf = NULL;
	size_t	 len = 0;

	if ((f = open_memstream(&buf, &len)) == NULL) {
		fputs("kbackup: out of memory\n", stderr);
		exit(1);
	}
	pthread_mutex_lock(&m->lock);
	render(f, m);
	pthread_mutex_unlock(&m->lock);
	if (fclose(f) != 0 || buf == NULL) {
		fputs("kbackup: out of memory\n", stderr);
		exit(1);
	}
	return buf;
}

int
metrics_write_textfile(struct metrics *m, const char *path, char *err, size_t errlen)
{
	char	*text;
	int	 rc;

	text = metrics_render(m);
	rc = write_file_atomic(path, text, strlen(text), 0644, err, errlen);
	free(text);
	if (rc == -1)
		return errprefix(err, errlen, "metrics textfile");
	return 0;
}

/* /metrics and /healthz: GET or HEAD; the page is made in finish(), freed in done(). */
static int
page_begin(void *arg, const struct http_request *rq, void **state)
{
	*state = NULL;
	if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0)
		return 405;
	return 0;
}

static int
metrics_finish(void *arg, void *state, const struct http_request *rq,
    struct http_reply *rep)
{
	char	**page = state;

	*page = metrics_render(arg);
	rep->content_type = "text/plain; version=0.0.4; charset=utf-8";
	rep->body = *page;
	rep->len = strlen(*page);
	return 0;
}

static int
healthz_finish(void *arg, void *state, const struct http_request *rq,
    struct http_reply *rep)
{
	char	**page = state, reason[400];

	if (metrics_healthy(arg, reason, sizeof(reason) - 1))
		*page = xstrdup("ok\n");
	else {
		*page = xasprintf("%s\n", reason);
		rep->status = 503;
	}
	rep->content_type = "text/plain";
	rep->body = *page;
	rep->len = strlen(*page);
	return 0;
}

static int
page_begin_alloc(void *arg, const struct http_request *rq, void **state)
{
	int	rc;

	if ((rc = page_begin(arg, rq, state)) != 0)
		return rc;
	*state = xcalloc(1, sizeof(char *));
	return 0;
}

static void
page_done(void *arg, void *state, int ok)
{
	char	**page = state;

	if (page != NULL)
		free(*page);
	free(page);
}

static const struct http_route_ops metrics_page = {
	page_begin_alloc, NULL, metrics_finish, page_done
};
static const struct http_route_ops healthz_page = {
	page_begin_alloc, NULL, healthz_finish, page_done
};

int
metrics_serve(struct metrics *m, struct http_server *srv, char *err, size_t errlen)
{
	if (http_route_add(srv, "/metrics", &metrics_page, m, err, errlen) == -1 ||
	    http_route_add(srv, "/healthz", &healthz_page, m, err, errlen) == -1)
		return -1;
	return 0;
}

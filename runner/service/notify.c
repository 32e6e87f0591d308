/*
 * notify: webhook and healthchecks-style pings with libcurl.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "common/xjson.h"
#include "runner/service/notify.h"

#define NOTIFY_RETRIES		3
#define NOTIFY_BACKOFF_MS	1000
#define NOTIFY_TIMEOUT		10

char *
notify_webhook_body(const struct notify_event *ev)
{
	json_t	*o;
	char	 ts[21];

	o = json_object();
	json_object_set_new(o, "name", json_string(ev->name != NULL ? ev->name : ""));
	json_object_set_new(o, "namespace",
	    json_string(ev->namespace != NULL ? ev->namespace : "default"));
	json_object_set_new(o, "engine", json_string(ev->engine != NULL ? ev->engine : ""));
	json_object_set_new(o, "job", json_string(ev->job != NULL ? ev->job : ""));
	json_object_set_new(o, "result", json_string(ev->success ? "success" : "failure"));
	json_object_set_new(o, "backup_id",
	    ev->backup_id != NULL ? json_string(ev->backup_id) : json_null());
	json_object_set_new(o, "raw_bytes", json_integer((json_int_t)ev->raw_bytes));
	json_object_set_new(o, "stored_bytes", json_integer((json_int_t)ev->stored_bytes));
	json_object_set_new(o, "duration_seconds", json_real(ev->duration));
	if (ev->started > 0) {
		time_to_rfc3339(ev->started, ts);
		json_object_set_new(o, "started", json_string(ts));
	}
	json_object_set_new(o, "error", ev->error != NULL && *ev->error != '\0' ?
	    json_string(ev->error) : json_null());
	return xjson_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
}

/* "https://hc-ping.com/UUID" -> "https://hc-ping.com": what may be logged. */
static void
url_origin(const char *url, char *buf, size_t len)
{
	const char	*p, *end;

	strlcpy(buf, url, len);
	if ((p = strstr(url, "://")) == NULL)
		return;
	p += 3;
	end = p + strcspn(p, "/?#");
	if ((size_t)(end - url) < len)
		buf[end - url] = '\0';
	/* Drop user:password@ as well. */
	if ((p = strchr(buf, '@')) != NULL)
		memmove(strstr(buf, "://") + 3, p + 1, strlen(p + 1) + 1);
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	return size * n;
}

/* One attempt: the HTTP status, or -1 with a transport error. */
static long
attempt(const struct notify_config *cfg, const char *url, const char *body,
    const char *content_type, char *err, size_t errlen)
{
	CURL			*c;
	struct curl_slist	*h = NULL;
	char			 ebuf[CURL_ERROR_SIZE] = "", hdr[128];
	long			 status = -1;
	CURLcode		 rc;

	if ((c = curl_easy_init()) == NULL) {
		errf(err, errlen, "curl_easy_init failed");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, cfg->timeout > 0 ? cfg->timeout :
	    (long)NOTIFY_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "kbackup-runner");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (body != NULL) {
		snprintf(hdr, sizeof(hdr), "Content-Type: %s", content_type);
		h = curl_slist_append(h, hdr);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if ((rc = curl_easy_perform(c)) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		errf(err, errlen, "%s", ebuf[0] != '\0' ? ebuf : curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

int
notify_send(const struct notify_config *cfg, const char *url, const char *body,
    const char *content_type, char *err, size_t errlen)
{
	int	 retries = cfg->retries > 0 ? cfg->retries : NOTIFY_RETRIES;
	int	 pause_ms = cfg->backoff_ms > 0 ? cfg->backoff_ms : NOTIFY_BACKOFF_MS;
	int	 i;
	long	 status;
	char	 origin[256];

	url_origin(url, origin, sizeof(origin));
	for (i = 0; i <= retries; i++) {
		if (i > 0) {
			usleep((useconds_t)pause_ms * 1000);
			pause_ms *= 2;
		}
		status = attempt(cfg, url, body, content_type, err, errlen);
		if (status >= 200 && status < 300)
			return 0;
		if (status != -1)
			errf(err, errlen, "HTTP status %ld", status);
		/* A client error will not go away by asking again. */
		if (status >= 400 && status < 500 && status != 408 && status != 429)
			break;
	}
	return errprefix(err, errlen, "%s", origin);
}

static void
send_logged(const struct notify_config *cfg, const char *what, const char *url,
    const char *body, const char *content_type)
{
	char	err[KB_ERRLEN];

	if (url == NULL || *url == '\0')
		return;
	if (notify_send(cfg, url, body, content_type, err, sizeof(err)) == -1)
		log_kv(LOGL_WARN, "notification not delivered", "notify", what,
		    "error", err, NULL);
	else
		log_kv(LOGL_DEBUG, "notification delivered", "notify", what, NULL);
}

void
notify_job_start(const struct notify_config *cfg)
{
	send_logged(cfg, "ping_start", cfg->ping_start, NULL, NULL);
}

void
notify_job_end(const struct notify_config *cfg, const struct notify_event *ev,
    const char *tail)
{
	char	*body;

	if (cfg->webhook != NULL && *cfg->webhook != '\0' && (cfg->always || !ev->success)) {
		body = notify_webhook_body(ev);
		send_logged(cfg, "webhook", cfg->webhook, body, "application/json");
		free(body);
	}
	if (ev->success)
		send_logged(cfg, "ping_success", cfg->ping_success, NULL, NULL);
	else
		send_logged(cfg, "ping_failure", cfg->ping_failure,
		    tail != NULL ? tail : (ev->error != NULL ? ev->error : ""),
		    "text/plain; charset=utf-8");
}

void
notify_tail_init(struct notify_tail *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
}

void
notify_tail_free(struct notify_tail *t)
{
	size_t	i;

	for (i = 0; i < NOTIFY_TAIL_LINES; i++)
		free(t->lines[i]);
	pthread_mutex_destroy(&t->lock);
}

void
notify_tail_hook(const char *line, void *arg)
{
	struct notify_tail	*t = arg;

	pthread_mutex_lock(&t->lock);
	free(t->lines[t->next]);
	t->lines[t->next] = xstrdup(line);
	t->next = (t->next + 1) % NOTIFY_TAIL_LINES;
	pthread_mutex_unlock(&t->lock);
}

char *
notify_tail_text(struct notify_tail *t)
{
	size_t	 i, len = 1, off = 0, n;
	char	*buf, *l;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < NOTIFY_TAIL_LINES; i++)
		if (t->lines[i] != NULL)
			len += strlen(t->lines[i]) + 1;
	buf = xmalloc(len);
	for (i = 0; i < NOTIFY_TAIL_LINES; i++) {
		l = t->lines[(t->next + i) % NOTIFY_TAIL_LINES];
		if (l == NULL)
			continue;
		n = strlen(l);
		memcpy(buf + off, l, n);
		buf[off + n] = '\n';
		off += n + 1;
	}
	buf[off] = '\0';
	pthread_mutex_unlock(&t->lock);
	return buf;
}

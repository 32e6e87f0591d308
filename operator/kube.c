/*
 * kube: Kubernetes API requests and watch streams over libcurl.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/log.h"
#include "common/util.h"
#include "operator/kube.h"

#define TOKEN_MAX		(64 * 1024)
#define TOKEN_REREAD_S		60	/* projected tokens rotate; re-read them */
#define BODY_MAX		(256 * 1024 * 1024)
#define LINE_MAX_BYTES		(64 * 1024 * 1024)

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

static void
buf_add(struct buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap == 0 ? 4096 : b->cap * 2;
		b->data = xreallocarray(b->data, 1, b->cap);
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static char *
trimmed_file(const char *path, char *err, size_t errlen)
{
	char	*buf;
	size_t	 len;

	if (read_file(path, TOKEN_MAX, &buf, &len, err, errlen) == -1)
		return NULL;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' '))
		buf[--len] = '\0';
	return buf;
}

char *
kube_sa_namespace(void)
{
	char	err[KB_ERRLEN];

	return trimmed_file(KUBE_SA_DIR "/namespace", err, sizeof(err));
}

int
kube_init(struct kube *k, const char *server, const char *token_file,
    const char *ca_file, char *err, size_t errlen)
{
	const char	*host, *port;

	memset(k, 0, sizeof(*k));
	k->retries = 6;
	k->backoff_ms = 200;
	k->backoff_max_ms = 30000;
	k->timeout_s = 60;
	if (server == NULL) {
		host = getenv("KUBERNETES_SERVICE_HOST");
		port = getenv("KUBERNETES_SERVICE_PORT");
		if (host == NULL || port == NULL)
			return errf(err, errlen, "not in a cluster "
			    "(KUBERNETES_SERVICE_HOST unset): give --server");
		k->server = xasprintf(strchr(host, ':') != NULL ? "https://[%s]:%s" :
		    "https://%s:%s", host, port);
		if (token_file == NULL)
			token_file = KUBE_SA_DIR "/token";
		if (ca_file == NULL)
			ca_file = KUBE_SA_DIR "/ca.crt";
	} else {
		k->server = xstrdup(server);
		while (strlen(k->server) > 0 && k->server[strlen(k->server) - 1] == '/')
			k->server[strlen(k->server) - 1] = '\0';
	}
	if (token_file != NULL)
		k->token_file = xstrdup(token_file);
	if (ca_file != NULL)
		k->ca_file = xstrdup(ca_file);
	return 0;
}

static void
token_forget(struct kube *k)
{
	if (k->token != NULL)
		freezero(k->token, strlen(k->token));
	k->token = NULL;
}

void
kube_free(struct kube *k)
{
	token_forget(k);
	free(k->server);
	free(k->token_file);
	free(k->ca_file);
	free(k->user_agent);
	memset(k, 0, sizeof(*k));
}

void
kube_copy(struct kube *dst, const struct kube *src)
{
	*dst = *src;
	dst->server = xstrdup(src->server);
	dst->token_file = xstrdup_or_null(src->token_file);
	dst->ca_file = xstrdup_or_null(src->ca_file);
	dst->user_agent = xstrdup_or_null(src->user_agent);
	dst->token = NULL;
	dst->write_gate = NULL;
	dst->nrequests = dst->nretries = 0;
}

static int
token_load(struct kube *k, char *err, size_t errlen)
{
	char	*tok;

	if (k->token_file == NULL)
		return 0;
	if (k->token != NULL && time(NULL) - k->token_read < TOKEN_REREAD_S)
		return 0;
	if ((tok = trimmed_file(k->token_file, err, errlen)) == NULL)
		return errprefix(err, errlen, "token");
	token_forget(k);
	k->token = tok;
	k->token_read = time(NULL);
	return 0;
}

char *
kube_escape(const char *s)
{
	char	*e = curl_easy_escape(NULL, s, 0), *out;

	out = xstrdup(e != NULL ? e : "");
	curl_free(e);
	return out;
}

struct xfer {
	CURL			*curl;
	struct curl_slist	*headers;
	char			*auth;
	char			*body;
};

static int
xfer_setup(struct kube *k, struct xfer *x, const char *method, const char *path,
    json_t *body, char *err, size_t errlen)
{
	char	*url, *ua;

	memset(x, 0, sizeof(*x));
	if (token_load(k, err, errlen) == -1)
		return -1;
	if ((x->curl = curl_easy_init()) == NULL)
		return errf(err, errlen, "curl_easy_init failed");
	url = xasprintf("%s%s", k->server, path);
	curl_easy_setopt(x->curl, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(x->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(x->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (k->ca_file != NULL)
		curl_easy_setopt(x->curl, CURLOPT_CAINFO, k->ca_file);
	x->headers = curl_slist_append(x->headers, "Accept: application/json");
	ua = xasprintf("User-Agent: %s", k->user_agent != NULL ? k->user_agent :
	    "kbackup-operator");
	x->headers = curl_slist_append(x->headers, ua);
	free(ua);
	if (k->token != NULL) {
		x->auth = xasprintf("Authorization: Bearer %s", k->token);
		x->headers = curl_slist_append(x->headers, x->auth);
	}
	if (body != NULL) {
		x->body = json_dumps(body, JSON_COMPACT);
		x->headers = curl_slist_append(x->headers, strcmp(method, "PATCH") == 0 ?
		    "Content-Type: application/merge-patch+json" :
		    "Content-Type: application/json");
		curl_easy_setopt(x->curl, CURLOPT_POSTFIELDS, x->body);
	}
	curl_easy_setopt(x->curl, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(x->curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(x->curl, CURLOPT_HTTPHEADER, x->headers);
	return 0;
}

static void
xfer_free(struct xfer *x)
{
	/* the slist holds a copy of the Authorization line: wipe it too */
	struct curl_slist *h;

	for (h = x->headers; h != NULL; h = h->next)
		if (startswith(h->data, "Authorization:"))
			explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(x->headers);
	if (x->auth != NULL)
		freezero(x->auth, strlen(x->auth));
	if (x->body != NULL)
		freezero(x->body, strlen(x->body));
	if (x->curl != NULL)
		curl_easy_cleanup(x->curl);
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	struct buf	*b = arg;

	if (b->len + size * n > BODY_MAX)
		return 0;
	buf_add(b, p, size * n);
	return size * n;
}

static void
status_err(const char *method, const char *path, long status, json_t *body,
    char *err, size_t errlen)
{
	const char	*reason = json_string_value(json_object_get(body, "reason"));
	const char	*msg = json_string_value(json_object_get(body, "message"));
	char		 p[256];

	/* the path only: query strings can be long and say nothing */
	snprintf(p, sizeof(p), "%.*s", (int)strcspn(path, "?"), path);
	errf(err, errlen, "%s %s: %ld %s: %s", method, p, status,
	    reason != NULL ? reason : "", msg != NULL ? msg : "no message");
}

static void
backoff(struct kube *k, int attempt)
{
	long	ms = k->backoff_ms;
	int	i;

	for (i = 0; i < attempt && ms < k->backoff_max_ms; i++)
		ms *= 2;
	if (ms > k->backoff_max_ms)
		ms = k->backoff_max_ms;
	ms = ms / 2 + (long)(arc4random_uniform((uint32_t)(ms / 2 + 1)));
	usleep((useconds_t)ms * 1000);
}

int
kube_request(struct kube *k, const char *method, const char *path, json_t *body,
    long *status, json_t **out, char *err, size_t errlen)
{
	struct xfer	x;
	struct buf	b;
	CURLcode	cc;
	int		attempt;

	*out = NULL;
	*status = 0;
	if (k->write_gate != NULL && !*k->write_gate && strcmp(method, "GET") != 0)
		return errf(err, errlen, "%s %.*s: not sent: this replica does not hold "
		    "the lease", method, (int)strcspn(path, "?"), path);
	for (attempt = 0;; attempt++) {
		if (attempt > 0) {
			k->nretries++;
			log_kv(LOGL_DEBUG, "retrying", "method", method, "error", err, NULL);
			backoff(k, attempt - 1);
		}
		if (xfer_setup(k, &x, method, path, body, err, errlen) == -1)
			return -1;
		memset(&b, 0, sizeof(b));
		curl_easy_setopt(x.curl, CURLOPT_WRITEFUNCTION, collect);
		curl_easy_setopt(x.curl, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(x.curl, CURLOPT_TIMEOUT, k->timeout_s);
		k->nrequests++;
		cc = curl_easy_perform(x.curl);
		if (cc == CURLE_OK)
			curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, status);
		xfer_free(&x);
		if (cc != CURLE_OK) {
			errf(err, errlen, "%s %.*s: %s", method, (int)strcspn(path, "?"), path,
			    curl_easy_strerror(cc));
			free(b.data);
			if (attempt < k->retries)
				continue;
			return -1;
		}
		*out = b.len > 0 ? json_loadb(b.data, b.len, 0, NULL) : NULL;
		free(b.data);
		if (*status == 401 && k->token_file != NULL)
			token_forget(k);	/* rotated under us: read it again */
		if (*status < 200 || *status > 299)
			status_err(method, path, *status, *out, err, errlen);
		if ((*status == 429 || *status >= 500 || *status == 401) &&
		    attempt < k->retries) {
			json_decref(*out);
			*out = NULL;
			continue;
		}
		if (*status == 429 || *status >= 500)
			return -1;
		return 0;
	}
}

struct stream {
	CURL		*curl;
	struct buf	 line;
	kube_event_fn	 fn;
	void		*arg;
	volatile int	*stop;
	int		 stopped;
	int		 bad;
};

static size_t
stream_write(char *p, size_t size, size_t n, void *arg)
{
	struct stream	*s = arg;
	size_t		 len = size * n, i, start = 0;
	json_t		*ev;

	long		 code = 0;

	if ((s->stop != NULL && *s->stop) || s->stopped)
		return 0;
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code < 200 || code > 299) {
		/* a Status object, not events */
		if (s->line.len + len < BODY_MAX)
			buf_add(&s->line, p, len);
		return len;
	}
	for (i = 0; i < len; i++) {
		if (p[i] != '\n')
			continue;
		buf_add(&s->line, p + start, i - start);
		start = i + 1;
		if (s->line.len == 0)
			continue;
		ev = json_loadb(s->line.data, s->line.len, 0, NULL);
		s->line.len = 0;
		if (!json_is_string(json_object_get(ev, "type"))) {
			s->bad = 1;
			json_decref(ev);
			return 0;
		}
		if (s->fn(s->arg, json_string_value(json_object_get(ev, "type")),
		    json_object_get(ev, "object")) != 0)
			s->stopped = 1;
		json_decref(ev);
		if (s->stopped)
			return 0;
	}
	buf_add(&s->line, p + start, len - start);
	if (s->line.len > LINE_MAX_BYTES) {
		s->bad = 1;
		return 0;
	}
	return len;
}

static int
stream_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct stream	*s = arg;

	return s->stop != NULL && *s->stop;
}

int
kube_watch(struct kube *k, const char *path, kube_event_fn fn, void *arg,
    volatile int *stop, long *status, char *err, size_t errlen)
{
	struct xfer	x;
	struct stream	s;
	CURLcode	cc;
	json_t		*body;
	int		rc = 0;

	*status = 0;
	memset(&s, 0, sizeof(s));
	s.fn = fn;
	s.arg = arg;
	s.stop = stop;
	if (xfer_setup(k, &x, "GET", path, NULL, err, errlen) == -1)
		return -1;
	s.curl = x.curl;
	curl_easy_setopt(x.curl, CURLOPT_WRITEFUNCTION, stream_write);
	curl_easy_setopt(x.curl, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(x.curl, CURLOPT_XFERINFOFUNCTION, stream_progress);
	curl_easy_setopt(x.curl, CURLOPT_XFERINFODATA, &s);
	curl_easy_setopt(x.curl, CURLOPT_NOPROGRESS, 0L);
	/* a dead connection: nothing at all (not even a bookmark) for 5 minutes */
	curl_easy_setopt(x.curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(x.curl, CURLOPT_LOW_SPEED_TIME, 300L);
	k->nrequests++;
	cc = curl_easy_perform(x.curl);
	curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, status);
	xfer_free(&x);
	if (*status != 0 && (*status < 200 || *status > 299)) {
		body = s.line.len > 0 ? json_loadb(s.line.data, s.line.len, 0, NULL) : NULL;
		status_err("WATCH", path, *status, body, err, errlen);
		json_decref(body);
		rc = -1;
	} else if (s.bad)
		rc = errf(err, errlen, "watch %.*s: malformed event",
		    (int)strcspn(path, "?"), path);
	else if (cc != CURLE_OK && !s.stopped && !(stop != NULL && *stop))
		rc = errf(err, errlen, "watch %.*s: %s", (int)strcspn(path, "?"), path,
		    curl_easy_strerror(cc));
	free(s.line.data);
	return rc;
}

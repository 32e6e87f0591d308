/*
 * s3_http: cancellable curl transfers and sleeps.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/cancel.h"
#include "common/util.h"
#include "storage/s3/s3_http.h"

#define S3_HTTP_MAX_FETCH	(1024 * 1024)

int
s3_buf_append(struct s3_buf *b, const void *p, size_t n, size_t max)
{
	char	*nd;
	size_t	 cap;

	if (max != 0 && b->len + n > max)
		return -1;
	if (b->len + n + 1 > b->cap) {
		for (cap = b->cap == 0 ? 8192 : b->cap; b->len + n + 1 > cap; cap *= 2)
			;
		/* not realloc: what was there may be a secret, wiped on the way */
		nd = xmalloc(cap);
		if (b->data != NULL) {
			memcpy(nd, b->data, b->len);
			freezero(b->data, b->cap);
		}
		b->data = nd;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

void
s3_buf_free(struct s3_buf *b)
{
	if (b->data != NULL)
		freezero(b->data, b->cap);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
s3_slist_free(struct curl_slist *l)
{
	struct curl_slist	*i;

	for (i = l; i != NULL; i = i->next)
		explicit_bzero(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

uint64_t
s3_now_ms(void)
{
	return (uint64_t)monotonic_ms();
}

int
s3_sleep_ms(uint64_t ms)
{
	struct pollfd	pfd;
	uint64_t	end = s3_now_ms() + ms, now;

	pfd.fd = cancel_fd();
	pfd.events = POLLIN;
	while (!cancel_requested() && (now = s3_now_ms()) < end) {
		pfd.revents = 0;
		if (poll(&pfd, pfd.fd >= 0 ? 1 : 0, (int)(end - now)) == -1 && errno != EINTR)
			break;
	}
	return cancel_requested() ? -1 : 0;
}

int
s3_cancel_waitfd(struct curl_waitfd *w)
{
	memset(w, 0, sizeof(*w));
	if (cancel_fd() < 0)
		return 0;
	w->fd = cancel_fd();
	w->events = CURL_WAIT_POLLIN;
	return 1;
}

static int
progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
    curl_off_t ulnow)
{
	return cancel_requested() ? 1 : 0;
}

void
s3_http_defaults(CURL *c, const char *ca_file, char errbuf[CURL_ERROR_SIZE])
{
	curl_easy_setopt(c, CURLOPT_USERAGENT, "kbackup");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (ca_file != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca_file);
}

void
s3_http_cancellable(CURL *c)
{
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
}

CURLcode
s3_http_perform(CURLM *multi, CURL *easy, int cancellable)
{
	struct curl_waitfd	 w;
	CURLMsg			*m;
	CURLcode		 rc = CURLE_OK;
	int			 running = 1, left, nw = 0, done = 0;

	if (cancellable) {
		s3_http_cancellable(easy);
		nw = s3_cancel_waitfd(&w);
	}
	if (curl_multi_add_handle(multi, easy) != CURLM_OK)
		return CURLE_FAILED_INIT;
	while (!done) {
		if (cancellable && cancel_requested()) {
			rc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		curl_multi_perform(multi, &running);
		while ((m = curl_multi_info_read(multi, &left)) != NULL)
			if (m->msg == CURLMSG_DONE && m->easy_handle == easy) {
				rc = m->data.result;
				done = 1;
			}
		if (!done && running == 0) {
			rc = CURLE_FAILED_INIT;
			break;
		}
		if (!done)
			curl_multi_poll(multi, &w, (unsigned)nw, 1000, NULL);
	}
	curl_multi_remove_handle(multi, easy);
	return rc;
}

static size_t
fetch_write_cb(char *src, size_t size, size_t nmemb, void *arg)
{
	return s3_buf_append(arg, src, size * nmemb, S3_HTTP_MAX_FETCH) == -1 ? 0 :
	    size * nmemb;
}

static size_t
fetch_header_cb(char *line, size_t size, size_t nmemb, void *arg)
{
	time_t	*date = arg;
	size_t	 n = size * nmemb;
	char	 v[64];

	if (n > 5 && n - 5 < sizeof(v) && strncasecmp(line, "date:", 5) == 0) {
		memcpy(v, line + 5, n - 5);
		v[n - 5] = '\0';
		v[strcspn(v, "\r\n")] = '\0';
		if ((*date = curl_getdate(v, NULL)) == -1)
			*date = 0;
	}
	return n;
}

int
s3_http_fetch(const struct s3_http_req *r, struct s3_buf *resp, long *status,
    time_t *date, char *err, size_t errlen)
{
	time_t			 dummy;

	struct curl_slist	*hl = NULL;
	CURLM			*multi;
	CURL			*c;
	CURLcode		 rc;
	char			 cerr[CURL_ERROR_SIZE] = "";
	size_t			 i;

	*status = 0;
	resp->len = 0;
	if (date == NULL)
		date = &dummy;
	*date = 0;
	if ((c = curl_easy_init()) == NULL || (multi = curl_multi_init()) == NULL) {
		if (c != NULL)
			curl_easy_cleanup(c);
		return errf(err, errlen, "curl_easy_init failed");
	}
	for (i = 0; r->headers != NULL && r->headers[i] != NULL; i++)
		hl = curl_slist_append(hl, r->headers[i]);
	s3_http_defaults(c, r->ca_file, cerr);
	curl_easy_setopt(c, CURLOPT_URL, r->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, fetch_header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, date);
	if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body != NULL ? r->body : "");
	} else if (strcmp(r->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
		if (r->body != NULL)
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body);
	}
	rc = s3_http_perform(multi, c, 1);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	curl_multi_cleanup(multi);
	s3_slist_free(hl);
	if (rc == CURLE_ABORTED_BY_CALLBACK && cancel_requested())
		return errf(err, errlen, "cancelled");
	/* fetch_write_cb's refusal, which curl calls a failure to write to disk */
	if (rc == CURLE_WRITE_ERROR)
		return errf(err, errlen, "the answer is larger than %d bytes",
		    S3_HTTP_MAX_FETCH);
	if (rc != CURLE_OK)
		return errf(err, errlen, "%s%s%s", curl_easy_strerror(rc), cerr[0] ? ": " : "",
		    cerr);
	return 0;
}

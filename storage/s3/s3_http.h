/*
 * s3_http: the waits of the S3 backend, all of them cancellable.
 *
 * Every transfer runs on a curl multi handle polled together with
 * cancel_fd(), and every easy handle has a progress callback that aborts it
 * once cancel_requested() is set, so that SIGINT or SIGTERM ends a request
 * to an endpoint that never answers at once; retry back-offs sleep in poll()
 * on the same descriptor.  Also a small unsigned fetch for the credential
 * endpoints (STS, container, IMDS), and the growable buffer responses go to.
 */
#ifndef KB_S3_HTTP_H
#define KB_S3_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>

struct s3_buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

/* Appends n bytes; data stays NUL-terminated.  -1 past max bytes (0: no limit). */
int	 s3_buf_append(struct s3_buf *, const void *, size_t n, size_t max);
/* Wipes (responses may hold credentials) and frees. */
void	 s3_buf_free(struct s3_buf *);
/* curl_slist_free_all(), wiping each entry first (tokens, signatures). */
void	 s3_slist_free(struct curl_slist *);

uint64_t s3_now_ms(void);
/* Sleeps ms; -1 at once when a cancel is requested. */
int	 s3_sleep_ms(uint64_t ms);
/* What curl_multi_poll() takes to wake on a cancel: n is 0 or 1. */
int	 s3_cancel_waitfd(struct curl_waitfd *);
/* What every handle gets: user agent, no signals, http(s) only, CA file, error buffer. */
void	 s3_http_defaults(CURL *, const char *ca_file, char errbuf[CURL_ERROR_SIZE]);
/* Sets the progress callback that aborts the transfer on a cancel. */
void	 s3_http_cancellable(CURL *);

/*
 * Runs easy on multi (added and removed here) until it ends; if
 * cancellable, a cancel ends it at once with CURLE_ABORTED_BY_CALLBACK.
 */
CURLcode s3_http_perform(CURLM *, CURL *, int cancellable);

struct s3_http_req {
	const char		*method;	/* GET PUT POST */
	const char		*url;
	const char *const	*headers;	/* "Name: value", NULL-terminated; may be NULL */
	const char		*body;		/* POST/PUT body, or NULL */
	long			 connect_timeout_ms;
	long			 timeout_ms;
	const char		*ca_file;	/* may be NULL */
};

/*
 * One request, one try: the status in *status, the body in resp (at most
 * 1 MiB) and the answer's Date in *date (0 when none; date may be NULL).
 * -1 when no answer came (err says why; "cancelled" on a cancel).
 */
int	 s3_http_fetch(const struct s3_http_req *, struct s3_buf *resp, long *status,
	    time_t *date, char *err, size_t errlen);

#endif

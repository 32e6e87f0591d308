/*
 * test_http: /metrics, /healthz, 404, and a route that stores PUT bodies and
 * serves them back streamed (what the cockroach transfer endpoint will do).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "common/util.h"
#include "common/httpd.h"
#include "runner/service/metrics.h"
#include "tests/unit/testutil.h"

/* Returns the status; body into *out (free it). */
static long
request(uint16_t port, const char *method, const char *path, const char *body,
    const char *range, struct tbuf *out)
{
	CURL		*c;
	char		 url[256];
	long		 status = 0;
	struct curl_slist *h = NULL;

	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tbuf_curl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		h = curl_slist_append(h, "Content-Type: application/octet-stream");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	}
	if (range != NULL)
		curl_easy_setopt(c, CURLOPT_RANGE, range);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (out->data == NULL)
		out->data = xstrdup("");
	return status;
}

/* The route: one stored object per suffix is enough for the test. */
struct store {
	char	 name[64];
	struct tbuf obj;
	char	 range[64];
	int	 done_calls;
	int	 done_ok;
};

struct put_state {
	struct store	*st;
	struct tbuf	 in;
	int		 put;
};

static int
t_begin(void *arg, const struct http_request *rq, void **state)
{
	struct put_state *ps;

	if (strcmp(rq->suffix, "forbidden") == 0)
		return 403;
	ps = xcalloc(1, sizeof(*ps));
	ps->st = arg;
	ps->put = strcmp(rq->method, "PUT") == 0;
	if (rq->range != NULL)
		strlcpy(ps->st->range, rq->range, sizeof(ps->st->range));
	*state = ps;
	return 0;
}

static int
t_data(void *arg, void *state, const char *p, size_t len)
{
	struct put_state *ps = state;

	tbuf_add(&ps->in, p, len);
	return 0;
}

static ssize_t
t_read(void *state, uint64_t pos, char *buf, size_t max)
{
	struct put_state *ps = state;
	size_t		 n;

	if (pos >= ps->st->obj.len)
		return 0;
	n = ps->st->obj.len - pos;
	if (n > max)
		n = max;
	if (n > 3)
		n = 3;		/* several calls, as a pipeline would make */
	memcpy(buf, ps->st->obj.data + pos, n);
	return (ssize_t)n;
}

static int
t_finish(void *arg, void *state, const struct http_request *rq, struct http_reply *rep)
{
	struct put_state *ps = state;
	struct store	*st = arg;

	if (ps->put) {
		free(st->obj.data);
		st->obj = ps->in;
		memset(&ps->in, 0, sizeof(ps->in));
		strlcpy(st->name, rq->suffix, sizeof(st->name));
		rep->status = 201;
		return 0;
	}
	if (strcmp(rq->suffix, st->name) != 0) {
		rep->status = 404;
		return 0;
	}
	rep->content_type = "application/octet-stream";
	rep->read = t_read;
	rep->size = st->obj.len;
	rep->header_names[0] = "X-Test";
	rep->header_values[0] = "yes";
	return 0;
}

static void
t_done(void *arg, void *state, int ok)
{
	struct put_state *ps = state;

	ps->st->done_calls++;
	ps->st->done_ok += ok;
	free(ps->in.data);
	free(ps);
}

static const struct http_route_ops t_ops = { t_begin, t_data, t_finish, t_done };

static void
test_builtin(void **state)
{
	struct metrics		 m;
	struct http_server	*srv;
	char			 err[KB_ERRLEN];
	struct tbuf		 b;
	uint16_t		 port;

	metrics_init(&m, "orders", "shop", "postgres", time(NULL));
	assert_int_equal(http_start("127.0.0.1:0", &srv, err, sizeof(err)), 0);
	assert_int_equal(metrics_serve(&m, srv, err, sizeof(err)), 0);
	port = http_port(srv);
	assert_true(port > 0);

	assert_int_equal(request(port, "GET", "/metrics", NULL, NULL, &b), 200);
	assert_non_null(strstr(b.data, "kbackup_runner_start_timestamp_seconds{name=\"orders\""));
	free(b.data);
	assert_int_equal(request(port, "GET", "/healthz", NULL, NULL, &b), 200);
	assert_string_equal(b.data, "ok\n");
	free(b.data);
	metrics_job_done(&m, METRICS_JOB_BACKUP, 0, 1, time(NULL), "pg_dump: connection refused");
	assert_int_equal(request(port, "GET", "/healthz", NULL, NULL, &b), 503);
	assert_string_equal(b.data, "last backup failed: pg_dump: connection refused\n");
	free(b.data);
	assert_int_equal(request(port, "GET", "/nope", NULL, NULL, &b), 404);
	free(b.data);
	assert_int_equal(request(port, "POST", "/metrics", "x", NULL, &b), 405);
	free(b.data);
	http_stop(srv);
	metrics_free(&m);
}

static void
test_route(void **state)
{
	struct http_server	*srv;
	struct store		 st;
	char			 err[KB_ERRLEN];
	struct tbuf		 b;
	uint16_t		 port;

	memset(&st, 0, sizeof(st));
	assert_int_equal(http_start("127.0.0.1:0", &srv, err, sizeof(err)), 0);
	port = http_port(srv);
	assert_int_equal(http_route_add(srv, "transfer/", &t_ops, &st, err, sizeof(err)), -1);
	assert_int_equal(http_route_add(srv, "/transfer/TOKEN/", &t_ops, &st, err,
	    sizeof(err)), 0);
	assert_int_equal(http_route_add(srv, "/transfer/TOKEN/", &t_ops, &st, err,
	    sizeof(err)), -1);

	assert_int_equal(request(port, "PUT", "/transfer/TOKEN/dir/a.sst",
	    "hello, cockroach", NULL, &b), 201);
	free(b.data);
	assert_string_equal(st.name, "dir/a.sst");
	assert_int_equal(request(port, "GET", "/transfer/TOKEN/dir/a.sst", NULL, "0-4",
	    &b), 200);
	assert_string_equal(b.data, "hello, cockroach");
	assert_string_equal(st.range, "bytes=0-4");
	free(b.data);
	assert_int_equal(request(port, "HEAD", "/transfer/TOKEN/dir/a.sst", NULL, NULL,
	    &b), 200);
	free(b.data);
	assert_int_equal(request(port, "GET", "/transfer/TOKEN/other", NULL, NULL, &b), 404);
	free(b.data);
	assert_int_equal(request(port, "GET", "/transfer/TOKEN/forbidden", NULL, NULL,
	    &b), 403);
	free(b.data);
	/* /metrics where no one registered it: 404. */
	assert_int_equal(request(port, "GET", "/metrics", NULL, NULL, &b), 404);
	free(b.data);
	assert_int_equal(st.done_calls, 4);
	assert_int_equal(st.done_ok, 4);

	http_route_remove(srv, "/transfer/TOKEN/");
	assert_int_equal(request(port, "GET", "/transfer/TOKEN/dir/a.sst", NULL, NULL,
	    &b), 404);
	free(b.data);
	http_stop(srv);
	free(st.obj.data);
}

static void
test_listen_errors(void **state)
{
	struct http_server	*srv, *srv2;
	char			 err[KB_ERRLEN], addr[64];

	assert_int_equal(http_start("nocolon", &srv, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "HOST:PORT"));
	/* IPv6 may be disabled in a container: either way, no crash. */
	if (http_start("[::1]:0", &srv, err, sizeof(err)) == 0)
		http_stop(srv);
	assert_int_equal(http_start("127.0.0.1:0", &srv, err, sizeof(err)), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", http_port(srv));
	assert_int_equal(http_start(addr, &srv2, err, sizeof(err)), -1);
	http_stop(srv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_listen_errors),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_notify: the webhook's JSON, pings, retries, and the log tail, against
 * a receiver built on common/httpd's routes.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "common/log.h"
#include "common/util.h"
#include "common/httpd.h"
#include "runner/service/notify.h"

#define MAXREQ 16

struct recv {
	pthread_mutex_t	 lock;
	int		 n;
	char		 method[MAXREQ][8];
	char		 path[MAXREQ][64];
	char		*body[MAXREQ];
	int		 flaky_left;
};

static struct recv rcv = { PTHREAD_MUTEX_INITIALIZER, 0, {{0}}, {{0}}, {0}, 0 };

struct rstate {
	char	*body;
	size_t	 len;
};

static int
r_begin(void *arg, const struct http_request *rq, void **state)
{
	*state = xcalloc(1, sizeof(struct rstate));
	return 0;
}

static int
r_data(void *arg, void *state, const char *p, size_t len)
{
	struct rstate	*s = state;

	s->body = xreallocarray(s->body, s->len + len + 1, 1);
	memcpy(s->body + s->len, p, len);
	s->len += len;
	s->body[s->len] = '\0';
	return 0;
}

static int
r_finish(void *arg, void *state, const struct http_request *rq, struct http_reply *rep)
{
	struct rstate	*s = state;
	int		 i;

	pthread_mutex_lock(&rcv.lock);
	i = rcv.n++;
	strlcpy(rcv.method[i], rq->method, sizeof(rcv.method[i]));
	strlcpy(rcv.path[i], rq->suffix, sizeof(rcv.path[i]));
	rcv.body[i] = s->body != NULL ? s->body : xstrdup("");
	s->body = NULL;
	if (strcmp(rq->suffix, "flaky") == 0 && rcv.flaky_left > 0) {
		rcv.flaky_left--;
		rep->status = 503;
	} else if (strcmp(rq->suffix, "gone") == 0)
		rep->status = 404;
	pthread_mutex_unlock(&rcv.lock);
	rep->body = "ok";
	rep->len = 2;
	return 0;
}

static void
r_done(void *arg, void *state, int ok)
{
	struct rstate	*s = state;

	free(s->body);
	free(s);
}

static const struct http_route_ops r_ops = { r_begin, r_data, r_finish, r_done };
static struct http_server *srv;
static char base[64];

static void
clear(void)
{
	int	i;

	for (i = 0; i < rcv.n; i++)
		free(rcv.body[i]);
	rcv.n = 0;
}

static int
setup(void **state)
{
	char	err[KB_ERRLEN];

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (http_start("127.0.0.1:0", &srv, err, sizeof(err)) == -1 ||
	    http_route_add(srv, "/r/", &r_ops, NULL, err, sizeof(err)) == -1)
		return -1;
	snprintf(base, sizeof(base), "http://127.0.0.1:%u/r/", http_port(srv));
	return 0;
}

static int
teardown(void **state)
{
	http_stop(srv);
	clear();
	return 0;
}

static void
test_failure_webhook_and_ping(void **state)
{
	struct notify_config	 cfg;
	struct notify_event	 ev;
	char			*hook, *fail, *ok, *start;
	json_t			*j;
	json_error_t		 jerr;

	clear();
	hook = xasprintf("%shook", base);
	fail = xasprintf("%sfail", base);
	ok = xasprintf("%sok", base);
	start = xasprintf("%sstart", base);
	memset(&cfg, 0, sizeof(cfg));
	cfg.webhook = hook;
	cfg.ping_start = start;
	cfg.ping_success = ok;
	cfg.ping_failure = fail;
	memset(&ev, 0, sizeof(ev));
	ev.name = "orders";
	ev.namespace = "shop";
	ev.engine = "postgres";
	ev.job = "backup";
	ev.success = 0;
	ev.backup_id = "20261124T030000Z";
	ev.raw_bytes = 5000000000ULL;
	ev.stored_bytes = 1234;
	ev.duration = 61.5;
	ev.error = "pg_dump: \"connection\" refused";

	notify_job_start(&cfg);
	notify_job_end(&cfg, &ev, "line one\nline two\n");
	assert_int_equal(rcv.n, 3);
	assert_string_equal(rcv.method[0], "GET");
	assert_string_equal(rcv.path[0], "start");
	assert_string_equal(rcv.method[1], "POST");
	assert_string_equal(rcv.path[1], "hook");
	j = json_loads(rcv.body[1], 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "orders");
	assert_string_equal(json_string_value(json_object_get(j, "namespace")), "shop");
	assert_string_equal(json_string_value(json_object_get(j, "engine")), "postgres");
	assert_string_equal(json_string_value(json_object_get(j, "job")), "backup");
	assert_string_equal(json_string_value(json_object_get(j, "result")), "failure");
	assert_string_equal(json_string_value(json_object_get(j, "backup_id")),
	    "20261124T030000Z");
	assert_int_equal(json_integer_value(json_object_get(j, "raw_bytes")), 5000000000LL);
	assert_int_equal(json_integer_value(json_object_get(j, "stored_bytes")), 1234);
	assert_true(json_real_value(json_object_get(j, "duration_seconds")) == 61.5);
	assert_string_equal(json_string_value(json_object_get(j, "error")),
	    "pg_dump: \"connection\" refused");
	json_decref(j);
	assert_string_equal(rcv.method[2], "POST");
	assert_string_equal(rcv.path[2], "fail");
	assert_string_equal(rcv.body[2], "line one\nline two\n");

	/* Success with on = failure: no webhook, a success ping. */
	clear();
	ev.success = 1;
	ev.error = NULL;
	notify_job_end(&cfg, &ev, NULL);
	assert_int_equal(rcv.n, 1);
	assert_string_equal(rcv.method[0], "GET");
	assert_string_equal(rcv.path[0], "ok");
	/* on = always. */
	clear();
	cfg.always = 1;
	notify_job_end(&cfg, &ev, NULL);
	assert_int_equal(rcv.n, 2);
	assert_string_equal(rcv.path[0], "hook");
	assert_non_null(strstr(rcv.body[0], "\"result\":\"success\""));
	assert_non_null(strstr(rcv.body[0], "\"error\":null"));
	free(hook);
	free(fail);
	free(ok);
	free(start);
}

static void
test_retries(void **state)
{
	struct notify_config	 cfg;
	char			 err[KB_ERRLEN], *url;

	memset(&cfg, 0, sizeof(cfg));
	cfg.backoff_ms = 1;
	clear();
	rcv.flaky_left = 2;
	url = xasprintf("%sflaky", base);
	assert_int_equal(notify_send(&cfg, url, "{}", "application/json", err,
	    sizeof(err)), 0);
	assert_int_equal(rcv.n, 3);
	clear();
	rcv.flaky_left = 10;
	assert_int_equal(notify_send(&cfg, url, NULL, NULL, err, sizeof(err)), -1);
	assert_int_equal(rcv.n, 4);		/* 1 + 3 retries */
	assert_non_null(strstr(err, "HTTP status 503"));
	/* The token in the path is not in the message. */
	assert_null(strstr(err, "flaky"));
	free(url);

	clear();
	url = xasprintf("%sgone", base);
	assert_int_equal(notify_send(&cfg, url, NULL, NULL, err, sizeof(err)), -1);
	assert_int_equal(rcv.n, 1);		/* 404: not retried */
	free(url);
	rcv.flaky_left = 0;

	/* Nobody listening: a transport error, logged by notify_job_end, no crash. */
	cfg.ping_start = "http://user:secret@127.0.0.1:1/token";
	assert_int_equal(notify_send(&cfg, cfg.ping_start, NULL, NULL, err, sizeof(err)),
	    -1);
	assert_null(strstr(err, "secret"));
	assert_null(strstr(err, "token"));
	notify_job_start(&cfg);
}

static void
test_tail(void **state)
{
	struct notify_tail	 t;
	char			*text, line[32];
	int			 i;

	notify_tail_init(&t);
	text = notify_tail_text(&t);
	assert_string_equal(text, "");
	free(text);
	for (i = 0; i < NOTIFY_TAIL_LINES + 5; i++) {
		snprintf(line, sizeof(line), "l%d", i);
		notify_tail_hook(line, &t);
	}
	text = notify_tail_text(&t);
	assert_true(startswith(text, "l5\nl6\n"));
	assert_non_null(strstr(text, "\nl24\n"));
	free(text);
	notify_tail_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failure_webhook_and_ping),
		cmocka_unit_test(test_retries),
		cmocka_unit_test(test_tail),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

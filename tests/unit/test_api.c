/*
 * test_api: the runner's control API over a real HTTP server and job slot,
 * without running a job: the token (missing, wrong, of another length, the
 * scheme's case), no token configured = no API, 409 while the slot is
 * held, bad requests named, the status document, jobs read back from the
 * file of an earlier daemon (a running one is failed), a requestId seen
 * before answering with its job instead of starting one, 404 and 405.
 * Real jobs are run by tests/integration/operator_runs.sh.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "common/httpd.h"
#include "common/util.h"
#include "runner/runner.h"
#include "runner/schema.h"
#include "runner/service/api.h"
#include "runner/service/control.h"
#include "runner/service/jobrun.h"
#include "tests/unit/testutil.h"

#define TOKEN	"test-token-0123456789abcdef"

struct fixture {
	char			 dir[64];
	struct runner		 r;
	struct http_server	*http;
	struct control		*ctl;
	struct jobrun		 jr;
	struct api		*api;
	uint16_t		 port;
};

/* One request; the body parsed into *out (NULL if not JSON), headers into hdrs. */
static long
request(struct fixture *f, const char *method, const char *path, const char *auth,
    const char *body, json_t **out, struct tbuf *hdrs)
{
	CURL			*c = curl_easy_init();
	struct curl_slist	*h = NULL;
	struct tbuf		 b = { 0 }, hb = { 0 };
	char			 url[256];
	long			 status = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", f->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tbuf_curl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, tbuf_curl_write);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
	if (auth != NULL)
		h = curl_slist_append(h, auth);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		h = curl_slist_append(h, "Content-Type: application/json");
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	*out = b.data != NULL ? json_loads(b.data, 0, NULL) : NULL;
	free(b.data);
	if (hdrs != NULL)
		*hdrs = hb;
	else
		free(hb.data);
	return status;
}

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A runner of definition test/orders with the API (token NULL: without). */
static void
start(struct fixture *f, const char *token, const char *jobs)
{
	struct control_config	 cc;
	struct config		*cfg;
	char			 err[KB_ERRLEN], *path, *text;

	memset(f, 0, sizeof(*f));
	strlcpy(f->dir, "/tmp/kb-api.XXXXXX", sizeof(f->dir));
	assert_non_null(mkdtemp(f->dir));
	path = xasprintf("%s/kb.conf", f->dir);
	text = xasprintf("[backup]\nname = orders\nnamespace = test\nengine = sqlite\n"
	    "workdir = %s/work\n\n[sqlite]\npath = %s/db.sqlite\n\n[storage]\ntype = file\n"
	    "path = %s/store\n\n[metrics]\nlisten = 127.0.0.1:9\n%s%s\n", f->dir, f->dir,
	    f->dir, token != NULL ? "api_token = " : "", token != NULL ? token : "");
	tu_write_text(path, text);
	free(text);
	if (runner_config_load(path, &cfg, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	free(path);
	runner_init(&f->r, cfg);
	assert_int_equal(mkdir_p(f->r.state_dir, 0700, err, sizeof(err)), 0);
	if (jobs != NULL) {
		path = path_join(f->r.state_dir, "api-jobs.json");
		tu_write_text(path, jobs);
		free(path);
	}
	assert_int_equal(runner_open_storage(&f->r, err, sizeof(err)), 0);
	assert_int_equal(http_start("127.0.0.1:0", &f->http, err, sizeof(err)), 0);
	f->port = http_port(f->http);
	memset(&cc, 0, sizeof(cc));
	cc.socket_path = f->r.control_path;
	cc.definition = f->r.base;
	assert_int_equal(control_start(&f->ctl, &cc, err, sizeof(err)), 0);
	jobrun_init(&f->jr, &f->r, time(NULL));
	jobrun_seed(&f->jr);
	if (api_start(&f->api, f->http, f->ctl, &f->jr, err, sizeof(err)) == -1)
		fail_msg("%s", err);
}

static void
stop(struct fixture *f)
{
	api_stop(f->api);
	control_stop(f->ctl);
	http_stop(f->http);
	jobrun_free(&f->jr);
	runner_free(&f->r);
	assert_int_equal(tu_rmtree(f->dir), 0);
}

static void
test_token_compare(void **state)
{
	assert_true(api_token_ok(TOKEN, "Bearer " TOKEN));
	assert_true(api_token_ok(TOKEN, "bearer " TOKEN));
	assert_false(api_token_ok(TOKEN, NULL));
	assert_false(api_token_ok(TOKEN, TOKEN));
	assert_false(api_token_ok(TOKEN, "Basic " TOKEN));
	assert_false(api_token_ok(TOKEN, "Bearer " TOKEN "x"));
	assert_false(api_token_ok(TOKEN, "Bearer test-token"));
	assert_false(api_token_ok(TOKEN, "Bearer "));
	assert_false(api_token_ok(TOKEN, "Bearer  " TOKEN));
}

static void
test_unauthorized(void **state)
{
	static const char *const bad[] = {
		NULL, "Authorization: Bearer wrong-token-0123456789abcdef",
		"Authorization: Bearer " TOKEN "0", "Authorization: Basic dGVzdDp0ZXN0",
		"Authorization: Bearer", NULL
	};
	struct fixture	 f;
	struct tbuf	 h;
	json_t		*out;
	size_t		 i;

	start(&f, TOKEN, NULL);
	for (i = 0; i == 0 || bad[i] != NULL; i++) {
		assert_int_equal(request(&f, "GET", "/api/v1/status", bad[i], NULL, &out,
		    &h), 401);
		assert_string_equal(str(out, "error"), "unauthorized");
		assert_non_null(strstr(h.data, "WWW-Authenticate: Bearer"));
		json_decref(out);
		free(h.data);
	}
	/* nothing is started without the token, and the body is not read */
	assert_int_equal(request(&f, "POST", "/api/v1/backups", NULL, "{}", &out, NULL),
	    401);
	json_decref(out);
	assert_int_equal(request(&f, "POST", "/api/v1/backups", bad[1], "{}", &out, NULL),
	    401);
	json_decref(out);
	assert_int_equal(request(&f, "GET", "/api/v1/status", "Authorization: Bearer "
	    TOKEN, NULL, &out, NULL), 200);
	json_decref(out);
	stop(&f);
}

static void
test_no_token_no_api(void **state)
{
	struct fixture	 f;
	json_t		*out;

	start(&f, NULL, NULL);
	assert_null(f.api);
	assert_int_equal(request(&f, "GET", "/api/v1/status", "Authorization: Bearer "
	    TOKEN, NULL, &out, NULL), 404);
	assert_int_equal(request(&f, "POST", "/api/v1/backups", NULL, "{}", &out, NULL),
	    404);
	stop(&f);
}

static void
test_status(void **state)
{
	struct fixture	 f;
	json_t		*out, *loc;

	start(&f, TOKEN, NULL);
	assert_int_equal(request(&f, "GET", "/api/v1/status", "Authorization: Bearer "
	    TOKEN, NULL, &out, NULL), 200);
	assert_string_equal(str(out, "definition"), "test/orders");
	assert_true(json_is_null(json_object_get(out, "running")));
	assert_true(json_is_null(json_object_get(out, "lastBackup")));
	assert_true(json_is_null(json_object_get(out, "lastRestore")));
	assert_int_equal(json_array_size(json_object_get(out, "locations")), 1);
	loc = json_array_get(json_object_get(out, "locations"), 0);
	assert_string_equal(str(loc, "name"), "default");
	assert_int_equal(json_integer_value(json_object_get(loc, "backups")), 0);
	assert_true(json_is_null(json_object_get(loc, "newest")));
	/* the token is nowhere in the document */
	{
		char *text = json_dumps(out, 0);

		assert_null(strstr(text, TOKEN));
		free(text);
	}
	json_decref(out);
	stop(&f);
}

static void
test_busy(void **state)
{
	struct fixture	 f;
	json_t		*out;
	char		 busy[400];

	start(&f, TOKEN, NULL);
	assert_int_equal(control_job_begin(f.ctl, "backup 20261124T030000Z", busy,
	    sizeof(busy)), 0);
	assert_int_equal(request(&f, "POST", "/api/v1/backups", "Authorization: Bearer "
	    TOKEN, "{\"requestId\": \"uid-1\"}", &out, NULL), 409);
	assert_string_equal(str(out, "error"), "busy");
	assert_non_null(strstr(str(out, "message"), "busy: backup 20261124T030000Z started at "));
	json_decref(out);
	assert_int_equal(request(&f, "POST", "/api/v1/restores", "Authorization: Bearer "
	    TOKEN, "{\"backup\": \"latest\", \"database\": \"copy\"}", &out, NULL), 409);
	json_decref(out);
	assert_int_equal(request(&f, "GET", "/api/v1/status", "Authorization: Bearer "
	    TOKEN, NULL, &out, NULL), 200);
	assert_string_equal(str(json_object_get(out, "running"), "description"),
	    "backup 20261124T030000Z");
	assert_non_null(str(json_object_get(out, "running"), "startTime"));
	json_decref(out);
	control_job_end(f.ctl);
	stop(&f);
}

static void
test_bad_requests(void **state)
{
	static const struct {
		const char	*path;
		const char	*body;
		const char	*message;
	} cases[] = {
		{ "/api/v1/backups", "not json", "not a JSON object" },
		{ "/api/v1/backups", "[1]", "not a JSON object" },
		{ "/api/v1/backups", "{\"backup\": \"latest\"}", "unknown member \"backup\"" },
		{ "/api/v1/backups", "{\"requestId\": \"a b\"}", "requestId" },
		{ "/api/v1/backups", "{\"requestId\": 7}", "requestId" },
		{ "/api/v1/restores", "{\"backup\": \"yesterday\"}", "backup: expected" },
		{ "/api/v1/restores", "{\"backup\": \"latest\", \"at\": \"2026-11-20\"}",
		    "not both" },
		{ "/api/v1/restores", "{\"at\": \"someday\"}", "at: " },
		{ "/api/v1/restores", "{\"database\": \"\"}", "database: expected a name" },
		{ "/api/v1/restores", "{\"database\": \"--clean\"}", "database: expected" },
		{ "/api/v1/restores", "{\"database\": \"a\\nb\"}", "control character" },
		{ "/api/v1/restores", "{\"dryRun\": true}", "unknown member \"dryRun\"" },
	};
	struct fixture	 f;
	json_t		*out;
	char		 busy[400];
	size_t		 i;

	start(&f, TOKEN, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(request(&f, "POST", cases[i].path, "Authorization: Bearer "
		    TOKEN, cases[i].body, &out, NULL), 400);
		assert_string_equal(str(out, "error"), "bad request");
		if (strstr(str(out, "message"), cases[i].message) == NULL)
			fail_msg("%s %s: %s", cases[i].path, cases[i].body, str(out, "message"));
		json_decref(out);
	}
	/* a refused request leaves the slot free */
	assert_int_equal(control_job_begin(f.ctl, "x", busy, sizeof(busy)), 0);
	control_job_end(f.ctl);
	stop(&f);
}

static void
test_paths(void **state)
{
	struct fixture	 f;
	struct tbuf	 h;
	json_t		*out;

	start(&f, TOKEN, NULL);
	assert_int_equal(request(&f, "GET", "/api/v1/jobs/20261124T030000Z-00000000",
	    "Authorization: Bearer " TOKEN, NULL, &out, NULL), 404);
	json_decref(out);
	assert_int_equal(request(&f, "GET", "/api/v1/other", "Authorization: Bearer "
	    TOKEN, NULL, &out, NULL), 404);
	json_decref(out);
	assert_int_equal(request(&f, "PUT", "/api/v1/status", "Authorization: Bearer "
	    TOKEN, "{}", &out, &h), 405);
	assert_non_null(strstr(h.data, "Allow: GET, HEAD"));
	json_decref(out);
	free(h.data);
	assert_int_equal(request(&f, "GET", "/api/v1/backups", "Authorization: Bearer "
	    TOKEN, NULL, &out, &h), 405);
	assert_non_null(strstr(h.data, "Allow: POST"));
	json_decref(out);
	free(h.data);
	/* /metrics and /healthz are not the API's: no token needed (metrics_serve is
	 * not called here, so they are 404 like any path nobody serves) */
	assert_int_equal(request(&f, "GET", "/metrics", NULL, NULL, &out, NULL), 404);
	stop(&f);
}

static const char earlier[] =
    "{\"format\": 1, \"jobs\": ["
    "{\"seq\": 1, \"job\": {\"id\": \"20261124T030000Z-0000000a\", \"kind\": \"backup\","
    " \"source\": \"daemon\", \"state\": \"succeeded\", \"backupId\": \"20261124T030001Z\","
    " \"startTime\": \"2026-11-24T03:00:00Z\", \"completionTime\": \"2026-11-24T03:01:00Z\","
    " \"rawBytes\": 1000, \"storedBytes\": 300}},"
    "{\"seq\": 2, \"job\": {\"id\": \"20261124T040000Z-0000000b\", \"kind\": \"backup\","
    " \"source\": \"api\", \"requestId\": \"uid-running\", \"state\": \"running\","
    " \"startTime\": \"2026-11-24T04:00:00Z\"}},"
    "{\"seq\": 3, \"job\": {\"id\": \"bad\", \"kind\": \"vacuum\", \"state\": \"running\"}},"
    "{\"seq\": 4, \"job\": {\"id\": \"20261124T050000Z-0000000c\", \"kind\": \"restore\","
    " \"source\": \"api\", \"requestId\": \"uid-restore\", \"state\": \"succeeded\","
    " \"backupId\": \"20261124T030001Z\", \"startTime\": \"2026-11-24T05:00:00Z\","
    " \"completionTime\": \"2026-11-24T05:00:09Z\", \"request\": {\"backup\": \"latest\","
    " \"database\": \"copy\"}}}"
    "]}";

static void
test_remembered(void **state)
{
	struct fixture	 f;
	struct stat	 st;
	json_t		*out, *last;
	char		 busy[400], *path;

	start(&f, TOKEN, earlier);
	assert_int_equal(request(&f, "GET", "/api/v1/status", "Authorization: Bearer "
	    TOKEN, NULL, &out, NULL), 200);
	/* the job running when the daemon stopped is the last backup, failed */
	last = json_object_get(out, "lastBackup");
	assert_string_equal(str(last, "id"), "20261124T040000Z-0000000b");
	assert_string_equal(str(last, "state"), "failed");
	assert_non_null(strstr(str(last, "error"), "interrupted"));
	last = json_object_get(out, "lastRestore");
	assert_string_equal(str(last, "backupId"), "20261124T030001Z");
	assert_string_equal(str(json_object_get(last, "request"), "database"), "copy");
	json_decref(out);
	assert_int_equal(request(&f, "GET", "/api/v1/jobs/20261124T030000Z-0000000a",
	    "Authorization: Bearer " TOKEN, NULL, &out, NULL), 200);
	assert_int_equal(json_integer_value(json_object_get(out, "storedBytes")), 300);
	json_decref(out);
	/* a request seen before: its job, nothing started (the slot stays free) */
	assert_int_equal(request(&f, "POST", "/api/v1/backups", "Authorization: Bearer "
	    TOKEN, "{\"requestId\": \"uid-running\"}", &out, NULL), 200);
	assert_string_equal(str(out, "id"), "20261124T040000Z-0000000b");
	json_decref(out);
	assert_int_equal(request(&f, "POST", "/api/v1/restores", "Authorization: Bearer "
	    TOKEN, "{\"requestId\": \"uid-restore\", \"backup\": \"latest\", "
	    "\"database\": \"copy\"}", &out, NULL), 200);
	assert_string_equal(str(out, "id"), "20261124T050000Z-0000000c");
	json_decref(out);
	assert_int_equal(control_job_begin(f.ctl, "x", busy, sizeof(busy)), 0);
	control_job_end(f.ctl);
	/* the file is the daemon's alone */
	path = path_join(f.r.state_dir, "api-jobs.json");
	assert_int_equal(stat(path, &st), 0);
	free(path);
	stop(&f);
}

static void
test_short_token(void **state)
{
	struct config	*cfg;
	char		 err[KB_ERRLEN], dir[] = "/tmp/kb-api.XXXXXX", *path, *text;

	assert_non_null(mkdtemp(dir));
	path = xasprintf("%s/kb.conf", dir);
	text = xasprintf("[backup]\nname = orders\nengine = sqlite\n\n[sqlite]\npath = "
	    "%s/db\n\n[storage]\ntype = file\npath = %s/store\n\n[metrics]\n"
	    "listen = 127.0.0.1:9\napi_token = short-secret\n", dir, dir);
	tu_write_text(path, text);
	free(text);
	assert_int_equal(runner_config_load(path, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "[metrics] api_token"));
	assert_non_null(strstr(err, "at least 16"));
	assert_null(strstr(err, "short-secret"));
	free(path);
	assert_int_equal(tu_rmtree(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_compare),
		cmocka_unit_test(test_unauthorized),
		cmocka_unit_test(test_no_token_no_api),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_remembered),
		cmocka_unit_test(test_short_token),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

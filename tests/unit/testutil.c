/*
 * testutil: the helpers several unit tests share (see testutil.h).
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

#include "common/config.h"
#include "common/util.h"
#include "runner/runner.h"
#include "runner/schema.h"
#include "tests/unit/testutil.h"

void
tbuf_add(struct tbuf *b, const void *p, size_t len)
{
	if (b->data == NULL || b->len + len + 1 > b->cap) {
		b->cap = (b->len + len + 1) * 2;
		b->data = xreallocarray(b->data, b->cap, 1);
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	b->calls++;
	if (len > b->max_call)
		b->max_call = len;
}

void
tbuf_free(struct tbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

size_t
tbuf_curl_write(char *p, size_t size, size_t n, void *arg)
{
	tbuf_add(arg, p, size * n);
	return size * n;
}

int
tbuf_out(const void *p, size_t len, void *arg, char *err, size_t errlen)
{
	tbuf_add(arg, p, len);
	return 0;
}

int
tbuf_text_out(const char *p, size_t len, void *arg, char *err, size_t errlen)
{
	tbuf_add(arg, p, len);
	return 0;
}

void
tu_expect_text(const char *text, const char *const *present, const char *const *absent)
{
	for (; present != NULL && *present != NULL; present++)
		if (strstr(text, *present) == NULL)
			fail_msg("\"%s\" is not in:\n%s", *present, text);
	for (; absent != NULL && *absent != NULL; absent++)
		if (strstr(text, *absent) != NULL)
			fail_msg("\"%s\" is in:\n%s", *absent, text);
}

void
tu_expect_refused(const struct tu_refused *c, int rc, const char *err)
{
	if (rc != -1)
		fail_msg("accepted: \"%s\"", c->text);
	if (strstr(err, c->msg) == NULL)
		fail_msg("\"%s\": error \"%s\" lacks \"%s\"", c->text, err, c->msg);
}

time_t
tu_utc(const char *s)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	assert_non_null(strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm));
	return timegm(&tm);
}

int
tu_cstring(char *buf, size_t size, const void *data, size_t n)
{
	if (n >= size)
		return -1;
	memcpy(buf, data, n);
	buf[n] = '\0';
	return 0;
}

void
tu_write_text(const char *path, const char *text)
{
	char	err[KB_ERRLEN];

	assert_int_equal(write_file_atomic(path, text, strlen(text), 0600, err,
	    sizeof(err)), 0);
}

int
tu_rmtree(const char *dir)
{
	char	*cmd = xasprintf("rm -rf %s", dir);
	int	 rc = system(cmd);

	free(cmd);
	if (rc != 0) {
		fprintf(stderr, "could not remove %s\n", dir);
		return -1;
	}
	return 0;
}

int
tu_runner_open(struct runner *r, const char *dir, const char *conf)
{
	struct config	*cfg;
	char		 err[KB_ERRLEN], *path = path_join(dir, "kb.conf");
	int		 rc;

	tu_write_text(path, conf);
	rc = runner_config_load(path, &cfg, err, sizeof(err));
	free(path);
	if (rc == -1) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	runner_init(r, cfg);
	if (runner_open_storage(r, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

int
tu_storage_validate(struct config *cfg, char *err, size_t errlen)
{
	static struct config_section_schema	 schema[2];
	const struct config_section_schema	*ss;

	for (ss = runner_schema(); strcmp(ss->name, "storage") != 0; ss++)
		;
	schema[0] = *ss;
	return config_validate(cfg, schema, err, errlen);
}

char *
tu_http(const char *method, const char *url)
{
	CURL		*c = curl_easy_init();
	struct tbuf	 b = { 0 };

	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tbuf_curl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_cleanup(c);
	return b.data != NULL ? b.data : xstrdup("");
}

long
tu_json_counter(const char *json, const char *name)
{
	char	*want = xasprintf("\"%s\":", name);
	char	*p = strstr(json, want);
	long	 n = p != NULL ? strtol(p + strlen(want), NULL, 10) : 0;

	free(want);
	return n;
}

long
tu_proxy_stat(const char *name)
{
	char	*url = xasprintf("%s/__proxy/stats", getenv("S3_ENDPOINT"));
	char	*s = tu_http("GET", url);
	long	 n = tu_json_counter(s, name);

	free(s);
	free(url);
	return n;
}

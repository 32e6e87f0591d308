/*
 * test_s3_creds: where the S3 backend's credentials come from.
 *
 * Always: the answers of the container endpoint and IMDS (JSON) and of STS
 * (XML) parsed, good and bad, with no secret in an error.
 *
 * With S3_IDP (tests/s3/idp.js: STS, container and IMDS stand-ins) and
 * S3_ENDPOINT, S3_BUCKET (s3rver behind proxy.js --sessions, which accepts
 * what idp.js issues until it expires): each source end to end, a
 * multipart upload that outlives the first credentials (refreshed before
 * they expire), a session revoked under a running location (ExpiredToken,
 * fetched again), the auto chain, and the failures: missing token file,
 * refused role, expired or wrong token.  With S3_RGW_ENDPOINT,
 * S3_RGW_ROLE and S3_RGW_OTHER_ROLE as well: web identity at Ceph RGW's
 * own STS, which enforces the session's expiry itself.
 * tests/integration/s3_creds.sh sets all of it up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <dirent.h>

#include "common/config.h"
#include "common/httpd.h"
#include "common/util.h"
#include "storage/s3/s3_creds.h"
#include "storage/s3/s3_xml.h"
#include "storage/storage.h"
#include "tests/unit/testutil.h"

#define MIB	(1024 * 1024)

static struct config	*cfg;
static char		 tmpdir[] = "/tmp/test_s3_creds.XXXXXX";

/* Parsers */

static void
test_json(void **state)
{
	const char		*ok = "{\"AccessKeyId\":\"ASIAX\",\"SecretAccessKey\":"
	    "\"s3cr3t\",\"Token\":\"tok\",\"Expiration\":\"2026-12-01T12:00:00Z\"}";
	const char		*imds = "{\"Code\":\"Success\",\"LastUpdated\":"
	    "\"2026-12-01T06:00:00Z\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAY\","
	    "\"SecretAccessKey\":\"s3cr3t\",\"Token\":\"tok\",\"Expiration\":"
	    "\"2026-12-01T12:00:00Z\"}";
	const char		*bad[][2] = {
		{ "not json", "not a JSON object" },
		{ "[1]", "not a JSON object" },
		{ "{\"Code\":\"Failed\",\"SecretAccessKey\":\"s3cr3t\"}", "Code is Failed" },
		{ "{\"AccessKeyId\":\"A\"}", "no AccessKeyId or SecretAccessKey" },
		{ "{\"code\":\"AccessDenied\",\"message\":\"token is not valid\"}",
		    "token is not valid" },
		{ "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s3cr3t\",\"Expiration\":"
		    "\"tomorrow\"}", "bad Expiration" },
	};
	struct s3_cred_answer	 a;
	char			 err[KB_ERRLEN];
	size_t			 i;

	assert_int_equal(s3_creds_parse_json(ok, strlen(ok), &a, err, sizeof(err)), 0);
	assert_string_equal(a.access_key, "ASIAX");
	assert_string_equal(a.secret_key, "s3cr3t");
	assert_string_equal(a.token, "tok");
	assert_int_equal(a.expiration, 1796126400);
	s3_cred_answer_free(&a);
	assert_null(a.secret_key);
	assert_int_equal(s3_creds_parse_json(imds, strlen(imds), &a, err, sizeof(err)), 0);
	assert_string_equal(a.access_key, "ASIAY");
	s3_cred_answer_free(&a);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(s3_creds_parse_json(bad[i][0], strlen(bad[i][0]), &a, err,
		    sizeof(err)), -1);
		if (strstr(err, bad[i][1]) == NULL)
			fail_msg("'%s': '%s' does not say '%s'", bad[i][0], err, bad[i][1]);
		assert_null(strstr(err, "s3cr3t"));
		assert_null(a.secret_key);
	}
}

static void
test_sts_xml(void **state)
{
	const char	*ok = "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts."
	    "amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult>"
	    "<SubjectFromWebIdentityToken>sub</SubjectFromWebIdentityToken><Credentials>"
	    "<SessionToken>tok</SessionToken><SecretAccessKey>s3cr3t</SecretAccessKey>"
	    "<Expiration>2026-12-01T12:00:00.123456789Z</Expiration><AccessKeyId>ASIAX"
	    "</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult>"
	    "</AssumeRoleWithWebIdentityResponse>";
	const char	*none = "<AssumeRoleWithWebIdentityResponse><X/>"
	    "</AssumeRoleWithWebIdentityResponse>";
	const char	*nokey = "<R><S><Credentials><SecretAccessKey>s3cr3t</SecretAccessKey>"
	    "</Credentials></S></R>";
	const char	*error = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/"
	    "2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not "
	    "authorized to perform sts:AssumeRoleWithWebIdentity</Message></Error>"
	    "<RequestId>r-1</RequestId></ErrorResponse>";
	char		*k, *s, *t, err[KB_ERRLEN];
	struct s3_error	 e;
	time_t		 exp;

	assert_int_equal(s3_xml_sts_credentials(ok, strlen(ok), &k, &s, &t, &exp, err,
	    sizeof(err)), 0);
	assert_string_equal(k, "ASIAX");
	assert_string_equal(s, "s3cr3t");
	assert_string_equal(t, "tok");
	assert_int_equal(exp, 1796126400);
	free(k);
	free(s);
	free(t);
	assert_int_equal(s3_xml_sts_credentials(none, strlen(none), &k, &s, &t, &exp, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "no <Credentials>"));
	assert_int_equal(s3_xml_sts_credentials(nokey, strlen(nokey), &k, &s, &t, &exp, err,
	    sizeof(err)), -1);
	assert_null(strstr(err, "s3cr3t"));
	assert_null(s);
	assert_int_equal(s3_xml_error(error, strlen(error), &e), 1);
	assert_string_equal(e.code, "AccessDenied");
	assert_string_equal(e.request_id, "r-1");
}

/* Live */

static int
live(void)
{
	return getenv("S3_IDP") != NULL && getenv("S3_ENDPOINT") != NULL;
}

/* A request to the stand-in; the answer, a new string. */
static char *
idp(const char *method, const char *path)
{
	char	*url = xasprintf("%s%s", getenv("S3_IDP"), path);
	char	*s = tu_http(method, url);

	free(url);
	return s;
}

static long
idp_stat(const char *name)
{
	char	*s = idp("GET", "/__idp/stats");
	long	 n = tu_json_counter(s, name);

	free(s);
	return n;
}

static char *
write_tmp(const char *name, const char *content)
{
	char	*path = xasprintf("%s/%s", tmpdir, name);
	FILE	*f = fopen(path, "w");

	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	return path;
}

/* A web identity token file, as EKS projects one. */
static char *
token_file(const char *aud)
{
	char	*q = xasprintf("/__idp/mint?aud=%s&ttl=600", aud), *jwt, *path;

	jwt = idp("POST", q);
	path = write_tmp("token", jwt);
	free(jwt);
	free(q);
	return path;
}

struct loc {
	const char	*endpoint;
	const char	*bucket;
	const char	*credentials;
	const char	*kv[8][2];	/* more keys */
};

static const struct config_section *
section(const struct loc *l)
{
	char	err[KB_ERRLEN];
	size_t	i;

	config_free(cfg);
	cfg = config_new(NULL);
	config_set(cfg, "storage", "type", "s3");
	config_set(cfg, "storage", "endpoint", l->endpoint ? l->endpoint :
	    getenv("S3_ENDPOINT"));
	config_set(cfg, "storage", "bucket", l->bucket ? l->bucket : getenv("S3_BUCKET"));
	config_set(cfg, "storage", "path_style", "true");
	config_set(cfg, "storage", "prefix", "kb-creds");
	config_set(cfg, "storage", "part_size", "5MiB");
	config_set(cfg, "storage", "max_tries", "2");
	config_set(cfg, "storage", "credentials", l->credentials);
	for (i = 0; i < 8 && l->kv[i][0] != NULL; i++)
		config_set(cfg, "storage", l->kv[i][0], l->kv[i][1]);
	if (tu_storage_validate(cfg, err, sizeof(err)) == -1)
		fail_msg("config: %s", err);
	return config_section(cfg, "storage");
}

static struct storage *
open_loc(const struct loc *l)
{
	struct storage	*st;
	char		 err[KB_ERRLEN];

	if (storage_open(section(l), &st, err, sizeof(err)) == -1)
		fail_msg("storage_open: %s", err);
	return st;
}

static int
count_cb(const struct storage_object *o, void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

/* A list through the location; its error, "" when it worked. */
static void
try_list(struct storage *st, char *err, size_t errlen)
{
	size_t	n = 0;

	err[0] = '\0';
	if (st->ops->list(st, "", NULL, count_cb, &n, err, errlen) == 0)
		err[0] = '\0';
}

/* A listing of st that works. */
static void
list_ok(struct storage *st)
{
	char	err[KB_ERRLEN];

	try_list(st, err, sizeof(err));
	assert_string_equal(err, "");
}

/* No secret or token idp.js issued appears in s. */
static void
no_secrets(const char *s)
{
	const char	*dir = getenv("S3_SESSIONS");
	struct dirent	*d;
	DIR		*dp;
	char		*path, *buf, *p, *q;
	size_t		 len;

	if (dir == NULL || (dp = opendir(dir)) == NULL)
		return;
	while ((d = readdir(dp)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, d->d_name);
		if (read_file(path, 65536, &buf, &len, NULL, 0) == 0) {
			/* {"secret":"...","token":"...",...}: each quoted value */
			for (p = strchr(buf, ':'); p != NULL; p = strchr(q + 1, ':')) {
				if (p[1] != '"' || (q = strchr(p + 2, '"')) == NULL)
					break;
				*q = '\0';
				if (q - p > 8 && strstr(s, p + 2) != NULL)
					fail_msg("a secret of %s is in '%s'", d->d_name, s);
			}
			free(buf);
		}
		free(path);
	}
	closedir(dp);
}

static void
expect_fails(const struct loc *l, const char *want)
{
	struct storage	*st = open_loc(l);
	char		 err[KB_ERRLEN];

	try_list(st, err, sizeof(err));
	print_message("error: %s\n", err);
	if (strstr(err, want) == NULL)
		fail_msg("'%s' does not say '%s'", err, want);
	no_secrets(err);
	storage_close(st);
}

/*
 * A multipart upload written slowly enough to outlive the first
 * credentials (idp.js --lifetime 4, RGW's 4s sessions): it succeeds, and
 * with the stand-ins, new ones were fetched on the way (counter_name of
 * idp.js's stats) and the store never saw an expired one.
 */
static void
paced_upload(struct storage *st, const char *counter_name)
{
	struct storage_put	 p = { 0 };
	struct storage_upload	*up;
	unsigned char		*buf = xcalloc(1, MIB);
	char			 err[KB_ERRLEN];
	long			 before = 0, expired = 0;
	int			 i;

	if (counter_name != NULL) {
		before = idp_stat(counter_name);
		expired = tu_proxy_stat("ExpiredToken");
	}

	if (st->ops->put_begin(st, "paced", &p, &up, err, sizeof(err)) == -1)
		fail_msg("put_begin: %s", err);
	for (i = 0; i < 21; i++) {
		memset(buf, i, MIB);
		if (st->ops->put_write(up, buf, MIB, err, sizeof(err)) == -1)
			fail_msg("put_write: %s", err);
		usleep(350 * 1000);
	}
	if (st->ops->put_commit(up, NULL, err, sizeof(err)) == -1)
		fail_msg("put_commit: %s", err);
	free(buf);
	if (counter_name == NULL)
		return;
	print_message("%s: %ld more, ExpiredToken %ld more\n", counter_name,
	    idp_stat(counter_name) - before, tu_proxy_stat("ExpiredToken") - expired);
	assert_true(idp_stat(counter_name) - before >= 2);
	assert_int_equal(tu_proxy_stat("ExpiredToken"), expired);
}

static void
test_web_identity(void **state)
{
	char		*tok, *jwt;
	struct loc	 l = { NULL, NULL, "web-identity", { { NULL } } };
	struct storage	*st;
	long		 n;

	if (!live())
		skip();
	tok = token_file("sts.amazonaws.com");
	l.kv[0][0] = "role_arn";
	l.kv[0][1] = "arn:aws:iam::123456789012:role/kbackup";
	l.kv[1][0] = "web_identity_token_file";
	l.kv[1][1] = tok;
	l.kv[2][0] = "sts_endpoint";
	l.kv[2][1] = getenv("S3_IDP");
	st = open_loc(&l);
	list_ok(st);
	paced_upload(st, "sts");

	/* revoked under a running location: ExpiredToken, fetched again */
	n = idp_stat("sts");
	free(idp("POST", "/__idp/expire"));
	list_ok(st);
	assert_int_equal(idp_stat("sts"), n + 1);
	assert_true(tu_proxy_stat("ExpiredToken") >= 1);
	storage_close(st);

	/* the role refused; an expired token; a token for another audience */
	l.kv[0][1] = "arn:aws:iam::123456789012:role/other";
	expect_fails(&l, "AccessDenied: Not authorized to perform "
	    "sts:AssumeRoleWithWebIdentity");
	l.kv[0][1] = "arn:aws:iam::123456789012:role/kbackup";
	free(tok);
	jwt = idp("POST", "/__idp/mint?ttl=-60");
	tok = write_tmp("token", jwt);
	free(jwt);
	l.kv[1][1] = tok;
	expect_fails(&l, "ExpiredTokenException");
	free(tok);
	tok = token_file("someone-else");
	l.kv[1][1] = tok;
	expect_fails(&l, "InvalidIdentityToken: Incorrect token audience");
	/* no token file */
	unlink(tok);
	expect_fails(&l, "web identity token file");
	expect_fails(&l, "No such file or directory");
	free(tok);
}

/*
 * The stand-in's container credentials endpoint (EKS Pod Identity) in the
 * environment, with a token file holding token: the file's path.
 */
static char *
container_env(const char *token)
{
	char	*url = xasprintf("%s/v1/credentials", getenv("S3_IDP"));
	char	*tok = write_tmp("pod-token", token);

	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", url, 1);
	setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tok, 1);
	free(url);
	return tok;
}

static void
test_pod_identity(void **state)
{
	struct loc	 l = { NULL, NULL, "pod-identity", { { NULL } } };
	struct storage	*st;
	char		*tok;

	if (!live())
		skip();
	tok = container_env("pod-identity-token\n");
	st = open_loc(&l);
	list_ok(st);
	paced_upload(st, "container");
	storage_close(st);

	free(write_tmp("pod-token", "another-token"));
	expect_fails(&l, "HTTP status 403");
	unlink(tok);
	expect_fails(&l, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.1/v1/credentials", 1);
	expect_fails(&l, "plain http only to loopback");
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	expect_fails(&l, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
	free(tok);
}

static void
test_imds(void **state)
{
	struct loc	 l = { NULL, NULL, "imds", { { NULL } } };
	struct storage	*st;
	long		 tokens;

	if (!live())
		skip();
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", getenv("S3_IDP"), 1);
	tokens = idp_stat("imdsToken");
	st = open_loc(&l);
	list_ok(st);
	assert_int_equal(idp_stat("imdsToken"), tokens + 1);	/* IMDSv2: token first */
	paced_upload(st, "imdsCreds");
	storage_close(st);
	/* off EC2: nothing answers; short timeouts */
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9", 1);
	expect_fails(&l, "EC2 instance metadata (IMDSv2)");
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
}

/*
 * An IMDS that answers 200 with an empty body: where the token should be
 * (was a NULL dereference) or the role list should be (the token's bytes,
 * still in the buffer, were taken for the role's name and logged).
 */
struct blank_imds {
	int	 empty_token;
	char	*huge;
};

static int
blank_begin(void *arg, const struct http_request *rq, void **state)
{
	return 0;
}

static int
blank_data(void *arg, void *state, const char *buf, size_t len)
{
	return 0;
}

static int
blank_finish(void *arg, void *state, const struct http_request *rq, struct http_reply *rep)
{
	struct blank_imds	*b = arg;

	rep->content_type = "text/plain";
	if (strcmp(rq->method, "POST") == 0) {	/* STS: a body past any answer's size */
		rep->body = b->huge;
		rep->len = 2 * MIB;
	} else if (strcmp(rq->path, "/latest/api/token") == 0 && !b->empty_token) {
		rep->body = "imds-session-token";
		rep->len = strlen(rep->body);
	}
	return 0;
}

static const struct http_route_ops blank_ops = { blank_begin, blank_data, blank_finish,
	NULL };

static void
test_imds_empty(void **state)
{
	struct loc		 l = { "http://127.0.0.1:9", "b-unused", "imds", { { NULL } } };
	struct blank_imds	 b = { 1, NULL };
	struct http_server	*srv;
	struct storage		*st;
	char			 err[KB_ERRLEN], *url;

	assert_int_equal(http_start("127.0.0.1:0", &srv, err, sizeof(err)), 0);
	assert_int_equal(http_route_add(srv, "/latest/", &blank_ops, &b, err, sizeof(err)), 0);
	url = xasprintf("http://127.0.0.1:%u", http_port(srv));
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
	expect_fails(&l, "no token in the answer");
	b.empty_token = 0;
	st = open_loc(&l);
	try_list(st, err, sizeof(err));
	if (strstr(err, "no IAM role attached") == NULL)
		fail_msg("'%s' does not say 'no IAM role attached'", err);
	assert_null(strstr(err, "imds-session-token"));
	storage_close(st);
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	http_stop(srv);
	free(url);
}

/* An STS that answers more than any credentials take: said so, not "writing to disk". */
static void
test_sts_huge(void **state)
{
	struct loc		 l = { "http://127.0.0.1:9", "b-unused", "web-identity",
				    { { "role_arn", "arn:aws:iam::123456789012:role/kbackup" },
				    { "web_identity_token_file", NULL }, { "sts_endpoint", NULL } } };
	struct blank_imds	 b = { 0, xcalloc(1, 2 * MIB) };
	struct http_server	*srv;
	char			 err[KB_ERRLEN], *url, *jwt;

	assert_int_equal(http_start("127.0.0.1:0", &srv, err, sizeof(err)), 0);
	assert_int_equal(http_route_add(srv, "/", &blank_ops, &b, err, sizeof(err)), 0);
	url = xasprintf("http://127.0.0.1:%u", http_port(srv));
	jwt = write_tmp("token", "a.b.c\n");	/* teardown's */
	l.kv[1][1] = jwt;
	l.kv[2][1] = url;
	expect_fails(&l, "the answer is larger than");
	http_stop(srv);
	free(b.huge);
	free(url);
	free(jwt);
}

/* auto: the first source set up, in the SDKs' order. */
static void
test_auto(void **state)
{
	struct loc		 l = { NULL, NULL, "auto", { { NULL } } };
	struct storage_probe	 p;
	struct storage		*st;
	char			*tok, err[KB_ERRLEN];

	if (!live())
		skip();
	tok = container_env("pod-identity-token");
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", getenv("S3_IDP"), 1);
	st = open_loc(&l);
	assert_int_equal(st->ops->probe(st, &p, err, sizeof(err)), 0);
	assert_string_equal(p.credentials, "pod-identity");
	storage_close(st);
	/* the environment's keys come before */
	setenv("AWS_ACCESS_KEY_ID", getenv("S3_ACCESS_KEY"), 1);
	setenv("AWS_SECRET_ACCESS_KEY", getenv("S3_SECRET_KEY"), 1);
	st = open_loc(&l);
	assert_int_equal(st->ops->probe(st, &p, err, sizeof(err)), 0);
	assert_string_equal(p.credentials, "env");
	storage_close(st);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	/* then IMDS; and with it disabled, nothing */
	st = open_loc(&l);
	assert_int_equal(st->ops->probe(st, &p, err, sizeof(err)), 0);
	assert_string_equal(p.credentials, "imds");
	storage_close(st);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	expect_fails(&l, "no credentials found");
	unsetenv("AWS_EC2_METADATA_DISABLED");
	unsetenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	free(tok);
}

/* Web identity at Ceph RGW's own STS, whose sessions end when it says. */
static void
test_rgw_sts(void **state)
{
	struct loc	 l = { NULL, NULL, "web-identity", { { NULL } } };
	struct storage	*st;
	char		*tok;

	if (!live() || getenv("S3_RGW_ENDPOINT") == NULL)
		skip();
	tok = token_file("sts.amazonaws.com");
	l.endpoint = getenv("S3_RGW_ENDPOINT");
	l.bucket = getenv("S3_RGW_BUCKET");
	l.kv[0][0] = "role_arn";
	l.kv[0][1] = getenv("S3_RGW_ROLE");
	l.kv[1][0] = "web_identity_token_file";
	l.kv[1][1] = tok;
	l.kv[2][0] = "sts_endpoint";
	l.kv[2][1] = getenv("S3_RGW_ENDPOINT");
	l.kv[3][0] = "role_session_duration";
	l.kv[3][1] = "4s";
	st = open_loc(&l);
	list_ok(st);
	/* RGW refuses a session past its end (AccessDenied): this must not see one */
	paced_upload(st, NULL);
	storage_close(st);
	l.kv[0][1] = getenv("S3_RGW_OTHER_ROLE");
	expect_fails(&l, "AssumeRoleWithWebIdentity");
	expect_fails(&l, "AccessDenied");
	free(tok);
}

static int
setup(void **state)
{
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int
teardown(void **state)
{
	const char	*files[] = { "token", "pod-token", NULL };
	char		*path;
	size_t		 i;

	config_free(cfg);
	cfg = NULL;
	for (i = 0; files[i] != NULL; i++) {
		path = xasprintf("%s/%s", tmpdir, files[i]);
		unlink(path);
		free(path);
	}
	return rmdir(tmpdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_sts_xml),
		cmocka_unit_test(test_web_identity),
		cmocka_unit_test(test_pod_identity),
		cmocka_unit_test(test_imds),
		cmocka_unit_test(test_imds_empty),
		cmocka_unit_test(test_sts_huge),
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_rgw_sts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * s3_creds: the credential sources and their refresh.
 *
 * The protocols, as the AWS documents give them:
 *   STS AssumeRoleWithWebIdentity: a POST of Action, Version 2011-06-15,
 *   RoleArn, RoleSessionName, WebIdentityToken and DurationSeconds as a form,
 *   unsigned; the answer's <Credentials> hold AccessKeyId, SecretAccessKey,
 *   SessionToken and Expiration.
 *   Container credentials: a GET of the full URI with the authorization token
 *   (re-read from its file each time: EKS rotates it) as Authorization; a
 *   JSON answer with AccessKeyId, SecretAccessKey, Token, Expiration.  Plain
 *   http is allowed only to loopback and the ECS and EKS link-local hosts.
 *   IMDSv2: PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds,
 *   then, with X-aws-ec2-metadata-token, GET
 *   /latest/meta-data/iam/security-credentials/ (the role's name) and
 *   .../ROLE (JSON with Code "Success" and the same fields).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/cancel.h"
#include "common/log.h"
#include "common/util.h"
#include "storage/s3/s3_creds.h"
#include "storage/s3/s3_http.h"
#include "storage/s3/s3_uri.h"
#include "storage/s3/s3_xml.h"

#define MARGIN_MAX		300		/* refresh at most this many seconds early */
#define RETRY_AFTER_MS		10000		/* a failed refresh, while the old ones last */
#define TOKEN_MAX		(64 * 1024)
#define IMDS_DEFAULT		"http://169.254.169.254"
#define ECS_HOST		"http://169.254.170.2"

enum source {
	SRC_AUTO,
	SRC_STATIC,
	SRC_ENV,
	SRC_WEB,
	SRC_CONTAINER,
	SRC_IMDS
};

static const char *const source_names[] = {
	"auto", "static", "env", "web-identity", "pod-identity", "imds"
};

struct s3_creds {
	enum source	 want;
	enum source	 source;	/* in use; SRC_AUTO until the first get */
	char		*cfg_key;
	char		*cfg_secret;
	char		*cfg_token;
	char		*role_arn;	/* key, else AWS_ROLE_ARN */
	char		*token_file;	/* key, else AWS_WEB_IDENTITY_TOKEN_FILE */
	char		*session_name;
	char		*sts_endpoint;
	int64_t		 duration;
	char		*ca_file;
	/* The credentials in use. */
	char		*key;
	char		*secret;
	char		*token;
	int		 temporary;
	uint64_t	 refresh_at;	/* s3_now_ms() */
	uint64_t	 expires_at;
	struct s3_cred	 pub;
};

/* Config checks */

int
s3_creds_check_arn(const char *v, char *err, size_t errlen)
{
	if (!startswith(v, "arn:") || strchr(v, ' ') != NULL)
		return errf(err, errlen, "'%s' is not an ARN such as "
		    "arn:aws:iam::123456789012:role/NAME", v);
	return 0;
}

int
s3_creds_check_session_name(const char *v, char *err, size_t errlen)
{
	size_t	n = strlen(v), i;

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)v[i]) && strchr("=,.@_-", v[i]) == NULL)
			break;
	if (n < 2 || n > 64 || i < n)
		return errf(err, errlen, "'%s' is not 2 to 64 letters, digits or =,.@_-", v);
	return 0;
}

int
s3_creds_check_duration(const char *v, char *err, size_t errlen)
{
	int64_t	d;

	if (config_parse_duration(v, &d) == -1 || d < 1 || d > 12 * 3600)
		return errf(err, errlen, "'%s' is not a duration from 1s to 12h", v);
	return 0;
}

static enum source
source_of(const char *v)
{
	size_t	i;

	for (i = 0; v != NULL && i < sizeof(source_names) / sizeof(source_names[0]); i++)
		if (strcmp(v, source_names[i]) == 0)
			return (enum source)i;
	return SRC_AUTO;
}

int
s3_creds_validate(const struct config_section *sec, char *err, size_t errlen)
{
	enum source	 want = source_of(config_get(sec, "credentials"));
	int		 key = config_get_nonempty(sec, "access_key") != NULL;
	int		 secret = config_get_nonempty(sec, "secret_key") != NULL;
	const char	*web[] = { "role_arn", "web_identity_token_file", NULL };
	size_t		 i;

	if (key != secret || (want == SRC_STATIC && !key))
		return errf(err, errlen, "access_key and secret_key: both required for "
		    "type = s3%s", want == SRC_STATIC ? " with credentials = static" : "");
	if (config_get_nonempty(sec, "session_token") != NULL && !key)
		return errf(err, errlen, "session_token: only with access_key and secret_key");
	if (key && want != SRC_STATIC && want != SRC_AUTO)
		return errf(err, errlen, "access_key: only with credentials = static or auto, "
		    "not %s", source_names[want]);
	for (i = 0; web[i] != NULL; i++)
		if (config_get_nonempty(sec, web[i]) != NULL && want != SRC_WEB &&
		    want != SRC_AUTO)
			return errf(err, errlen, "%s: only with credentials = web-identity or "
			    "auto, not %s", web[i], source_names[want]);
	if (want == SRC_AUTO && key && config_get_nonempty(sec, "role_arn") != NULL)
		return errf(err, errlen, "role_arn: not with access_key (set credentials = "
		    "web-identity or static)");
	return 0;
}

/* Opening and freeing */

static void
wipe(char **s)
{
	if (*s != NULL)
		freezero(*s, strlen(*s));
	*s = NULL;
}

int
s3_creds_open(const struct config_section *sec, const char *region, const char *ca_file,
    struct s3_creds **cp, char *err, size_t errlen)
{
	struct s3_creds	*c;
	const char	*v;

	if (s3_creds_validate(sec, err, errlen) == -1)
		return -1;
	c = xcalloc(1, sizeof(*c));
	c->want = source_of(config_get(sec, "credentials"));
	c->cfg_key = xstrdup_or_null(config_get_nonempty(sec, "access_key"));
	c->cfg_secret = xstrdup_or_null(config_get_nonempty(sec, "secret_key"));
	c->cfg_token = xstrdup_or_null(config_get_nonempty(sec, "session_token"));
	c->role_arn = xstrdup_or_null(config_get_nonempty(sec, "role_arn"));
	c->token_file = xstrdup_or_null(config_get_nonempty(sec, "web_identity_token_file"));
	c->session_name = xstrdup_or_null(config_get_nonempty(sec, "role_session_name"));
	c->duration = config_get_duration(sec, "role_session_duration");
	if ((v = config_get_nonempty(sec, "sts_endpoint")) != NULL)
		c->sts_endpoint = xstrdup(v);
	else
		c->sts_endpoint = xasprintf("https://sts.%s.amazonaws.com", region);
	c->ca_file = xstrdup_or_null(ca_file);
	*cp = c;
	return 0;
}

static void
drop_current(struct s3_creds *c)
{
	wipe(&c->key);
	wipe(&c->secret);
	wipe(&c->token);
	c->temporary = 0;
	c->refresh_at = c->expires_at = 0;
}

void
s3_creds_free(struct s3_creds *c)
{
	if (c == NULL)
		return;
	drop_current(c);
	wipe(&c->cfg_key);
	wipe(&c->cfg_secret);
	wipe(&c->cfg_token);
	free(c->role_arn);
	free(c->token_file);
	free(c->session_name);
	free(c->sts_endpoint);
	free(c->ca_file);
	freezero(c, sizeof(*c));
}

const char *
s3_creds_source(const struct s3_creds *c)
{
	return source_names[c->source];
}

/* Answers */

void
s3_cred_answer_free(struct s3_cred_answer *a)
{
	wipe(&a->access_key);
	wipe(&a->secret_key);
	wipe(&a->token);
	a->expiration = 0;
}

static char *
json_str(json_t *o, const char *name)
{
	json_t	*v = json_object_get(o, name);

	return json_is_string(v) && *json_string_value(v) != '\0' ?
	    xstrdup(json_string_value(v)) : NULL;
}

int
s3_creds_parse_json(const char *body, size_t len, struct s3_cred_answer *a, char *err,
    size_t errlen)
{
	json_t		*o;
	json_error_t	 jerr;
	char		*code, *exp, *msg;
	int		 r = -1;

	memset(a, 0, sizeof(*a));
	if ((o = json_loadb(body, len, 0, &jerr)) == NULL || !json_is_object(o)) {
		json_decref(o);
		return errf(err, errlen, "the answer is not a JSON object");
	}
	code = json_str(o, "Code");
	exp = json_str(o, "Expiration");
	a->access_key = json_str(o, "AccessKeyId");
	a->secret_key = json_str(o, "SecretAccessKey");
	a->token = json_str(o, "Token");
	if (code != NULL && strcmp(code, "Success") != 0)
		errf(err, errlen, "the answer's Code is %s", code);
	else if (a->access_key == NULL || a->secret_key == NULL) {
		msg = json_str(o, "message");
		errf(err, errlen, "no AccessKeyId or SecretAccessKey in the answer%s%s",
		    msg != NULL ? ": " : "", msg != NULL ? msg : "");
		free(msg);
	} else if (exp != NULL && s3_xml_time(exp, &a->expiration) == -1)
		errf(err, errlen, "bad Expiration '%s' in the answer", exp);
	else
		r = 0;
	free(code);
	free(exp);
	json_decref(o);
	if (r == -1)
		s3_cred_answer_free(a);
	return r;
}

/*
 * Takes the answer's strings; lifetime measured on the issuer's clock
 * (date, its Date header, or ours when it sent none).
 */
static void
take(struct s3_creds *c, struct s3_cred_answer *a, time_t date)
{
	uint64_t	now = s3_now_ms();
	int64_t		life, margin;

	drop_current(c);
	c->key = a->access_key;
	c->secret = a->secret_key;
	c->token = a->token;
	a->access_key = a->secret_key = a->token = NULL;
	if (a->expiration == 0)
		return;
	c->temporary = 1;
	life = (int64_t)(a->expiration - (date != 0 ? date : time(NULL)));
	if (life < 0)
		life = 0;
	margin = life / 4 < MARGIN_MAX ? life / 4 : MARGIN_MAX;
	c->refresh_at = now + (uint64_t)(life - margin) * 1000;
	c->expires_at = now + (uint64_t)life * 1000;
	if (c->refresh_at == now)
		c->refresh_at = now + 1;
}

/* Sources */

/* An environment variable's value, NULL when not set or empty (as the SDKs read them). */
static const char *
env_value(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* Credentials given as they are (the config, the environment), without an expiration. */
static void
take_given(struct s3_creds *c, const char *key, const char *secret, const char *token)
{
	struct s3_cred_answer	a = { xstrdup(key), xstrdup(secret), xstrdup_or_null(token),
				    0 };

	take(c, &a, 0);
}

static int
from_static(struct s3_creds *c, char *err, size_t errlen)
{
	take_given(c, c->cfg_key, c->cfg_secret, c->cfg_token);
	return 0;
}

static int
from_env(struct s3_creds *c, char *err, size_t errlen)
{
	const char	*k = env_value("AWS_ACCESS_KEY_ID");
	const char	*s = env_value("AWS_SECRET_ACCESS_KEY");

	if (k == NULL || s == NULL)
		return errf(err, errlen, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not "
		    "both set");
	take_given(c, k, s, env_value("AWS_SESSION_TOKEN"));
	return 0;
}

/* A token file's content, trimmed of blanks at the end; wiped by the caller. */
static char *
read_token(const char *path, const char *what, char *err, size_t errlen)
{
	char	*buf;
	size_t	 len;

	if (read_file(path, TOKEN_MAX, &buf, &len, err, errlen) == -1) {
		errprefix(err, errlen, "%s", what);
		return NULL;
	}
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	if (len == 0) {
		free(buf);
		errf(err, errlen, "%s %s: empty", what, path);
		return NULL;
	}
	return buf;
}

/* A retryable answer of a credential endpoint: none, 5xx, 429. */
static int
transient(long status)
{
	return status == 0 || status >= 500 || status == 429;
}

/* Up to tries tries of r, with backoff; the last answer in resp and *status. */
static int
fetch_tries(const struct s3_http_req *r, unsigned tries, struct s3_buf *resp,
    long *status, time_t *date, char *err, size_t errlen)
{
	unsigned	i;
	int		rc;

	for (i = 1;; i++) {
		rc = s3_http_fetch(r, resp, status, date, err, errlen);
		if (cancel_requested())
			return errf(err, errlen, "cancelled");
		if ((rc == 0 && !transient(*status)) || i >= tries)
			return rc;
		if (s3_sleep_ms(200ULL << i) == -1)
			return errf(err, errlen, "cancelled");
	}
}

static void
form_add(char **body, const char *name, const char *value)
{
	char	*enc = s3_uri_encode(value, 0), *n;

	n = xasprintf("%s%s%s=%s", *body != NULL ? *body : "", *body != NULL ? "&" : "",
	    name, enc);
	if (*body != NULL)
		freezero(*body, strlen(*body));
	freezero(enc, strlen(enc));
	*body = n;
}

static int
sts_error(const struct s3_buf *resp, long status, char *err, size_t errlen)
{
	struct s3_error	e;

	if (s3_xml_error(resp->data, resp->len, &e))
		return errf(err, errlen, "%s%s%s (HTTP %ld)", e.code, e.message[0] ? ": " : "",
		    e.message, status);
	return errf(err, errlen, "HTTP status %ld", status);
}

static int
from_web_identity(struct s3_creds *c, char *err, size_t errlen)
{
	const char		*role = c->role_arn ? c->role_arn : env_value("AWS_ROLE_ARN");
	const char		*file = c->token_file ? c->token_file :
				    env_value("AWS_WEB_IDENTITY_TOKEN_FILE");
	const char		*name = env_value("AWS_ROLE_SESSION_NAME");
	const char		*headers[] = {
		"Content-Type: application/x-www-form-urlencoded", NULL
	};
	struct s3_http_req	 r;
	struct s3_buf		 resp = { 0 };
	struct s3_cred_answer	 a;
	char			*jwt, *body = NULL, dur[24];
	long			 status;
	time_t			 date;
	int			 rc;

	if (role == NULL || file == NULL)
		return errf(err, errlen, "no role: set role_arn and web_identity_token_file, "
		    "or AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE");
	if ((jwt = read_token(file, "web identity token file", err, errlen)) == NULL)
		return -1;
	/* AWS_ROLE_SESSION_NAME goes with AWS_ROLE_ARN; the key with role_arn */
	if (c->role_arn != NULL || name == NULL)
		name = c->session_name;
	snprintf(dur, sizeof(dur), "%lld", (long long)c->duration);
	form_add(&body, "Action", "AssumeRoleWithWebIdentity");
	form_add(&body, "DurationSeconds", dur);
	form_add(&body, "RoleArn", role);
	form_add(&body, "RoleSessionName", name != NULL ? name : "kbackup");
	form_add(&body, "Version", "2011-06-15");
	form_add(&body, "WebIdentityToken", jwt);
	freezero(jwt, strlen(jwt));
	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.url = c->sts_endpoint;
	r.headers = headers;
	r.body = body;
	r.connect_timeout_ms = 5000;
	r.timeout_ms = 30000;
	r.ca_file = c->ca_file;
	rc = fetch_tries(&r, 3, &resp, &status, &date, err, errlen);
	freezero(body, strlen(body));
	if (rc == 0 && status != 200)
		rc = sts_error(&resp, status, err, errlen);
	if (rc == 0 && (rc = s3_xml_sts_credentials(resp.data, resp.len, &a.access_key,
	    &a.secret_key, &a.token, &a.expiration, err, errlen)) == 0)
		take(c, &a, date);
	s3_buf_free(&resp);
	if (rc == -1)
		return errprefix(err, errlen, "AssumeRoleWithWebIdentity of %s at %s", role,
		    c->sts_endpoint);
	log_kv(LOGL_INFO, "s3: temporary credentials from STS", "role", role, NULL);
	return 0;
}

/* Plain http only to loopback and the ECS/EKS agents, as the SDKs allow. */
static int
container_url_allowed(const char *url)
{
	static const char *const hosts[] = {
		"localhost", "169.254.170.2", "169.254.170.23", "[fd00:ec2::23]", "[::1]", NULL
	};
	CURLU		*u = curl_url();
	char		*scheme = NULL, *host = NULL;
	size_t		 i;
	int		 ok = 0;

	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		ok = strcmp(scheme, "https") == 0 || startswith(host, "127.");
		for (i = 0; !ok && hosts[i] != NULL; i++)
			ok = strcmp(host, hosts[i]) == 0;
		ok = ok && (strcmp(scheme, "https") == 0 || strcmp(scheme, "http") == 0);
	}
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

/* Parses a JSON answer of status 200 into the credentials in use. */
static int
take_json(struct s3_creds *c, const struct s3_buf *resp, long status, time_t date,
    char *err, size_t errlen)
{
	struct s3_cred_answer	a;

	if (status != 200)
		return errf(err, errlen, "HTTP status %ld", status);
	if (s3_creds_parse_json(resp->data, resp->len, &a, err, errlen) == -1)
		return -1;
	take(c, &a, date);
	return 0;
}

static int
from_container(struct s3_creds *c, char *err, size_t errlen)
{
	const char		*full = env_value("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char		*rel = env_value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char		*file = env_value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char		*tok = env_value("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	const char		*headers[2] = { NULL, NULL };
	struct s3_http_req	 r;
	struct s3_buf		 resp = { 0 };
	char			*url, *auth = NULL, *hdr = NULL;
	long			 status;
	time_t			 date;
	int			 rc;

	if (rel != NULL)
		url = xasprintf("%s%s", ECS_HOST, rel);
	else if (full != NULL)
		url = xstrdup(full);
	else
		return errf(err, errlen, "neither AWS_CONTAINER_CREDENTIALS_FULL_URI nor "
		    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is set");
	if (!container_url_allowed(url)) {
		rc = errf(err, errlen, "AWS_CONTAINER_CREDENTIALS_FULL_URI %s: plain http "
		    "only to loopback, 169.254.170.2, 169.254.170.23 or fd00:ec2::23", url);
		free(url);
		return rc;
	}
	if (file != NULL) {
		if ((auth = read_token(file, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", err,
		    errlen)) == NULL) {
			free(url);
			return -1;
		}
	} else if (tok != NULL)
		auth = xstrdup(tok);
	if (auth != NULL)
		headers[0] = hdr = xasprintf("Authorization: %s", auth);
	memset(&r, 0, sizeof(r));
	r.method = "GET";
	r.url = url;
	r.headers = headers;
	r.connect_timeout_ms = 2000;
	r.timeout_ms = 5000;
	r.ca_file = c->ca_file;
	rc = fetch_tries(&r, 3, &resp, &status, &date, err, errlen);
	if (rc == 0)
		rc = take_json(c, &resp, status, date, err, errlen);
	if (auth != NULL)
		freezero(auth, strlen(auth));
	if (hdr != NULL)
		freezero(hdr, strlen(hdr));
	s3_buf_free(&resp);
	if (rc == -1)
		errprefix(err, errlen, "container credentials from %s", url);
	else
		log_kv(LOGL_INFO, "s3: temporary credentials from the container endpoint",
		    NULL);
	free(url);
	return rc;
}

/* One IMDS request with its short timeouts; the body in resp. */
static int
imds_request(const char *method, const char *url, const char *header, struct s3_buf *resp,
    long *status, time_t *date, unsigned tries, char *err, size_t errlen)
{
	const char		*headers[] = { header, NULL };
	struct s3_http_req	 r;

	memset(&r, 0, sizeof(r));
	r.method = method;
	r.url = url;
	r.headers = headers;
	r.body = strcmp(method, "PUT") == 0 ? "" : NULL;
	r.connect_timeout_ms = 1000;
	r.timeout_ms = 2000;
	if (fetch_tries(&r, tries, resp, status, date, err, errlen) == -1)
		return -1;
	if (*status != 200)
		return errf(err, errlen, "%s %s: HTTP status %ld", method, url, *status);
	return 0;
}

static int
from_imds(struct s3_creds *c, char *err, size_t errlen)
{
	const char	*base = env_value("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	struct s3_buf	 resp = { 0 };
	char		*url = NULL, *hdr = NULL, role[256];
	unsigned	 tries = c->want == SRC_IMDS ? 3 : 1;
	long		 status;
	time_t		 date;
	size_t		 n;
	int		 rc;

	if (base == NULL)
		base = IMDS_DEFAULT;
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	url = xasprintf("%.*s/latest/api/token", (int)n, base);
	rc = imds_request("PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: 21600", &resp,
	    &status, &date, tries, err, errlen);
	if (rc == 0 && resp.len == 0)
		rc = errf(err, errlen, "PUT %s: no token in the answer", url);
	if (rc == 0) {
		hdr = xasprintf("X-aws-ec2-metadata-token: %s", resp.data);
		free(url);
		url = xasprintf("%.*s/latest/meta-data/iam/security-credentials/", (int)n,
		    base);
		rc = imds_request("GET", url, hdr, &resp, &status, &date, tries, err, errlen);
	}
	if (rc == 0) {
		/* resp.data is the token's buffer still when the list is empty */
		strlcpy(role, resp.len > 0 ? resp.data : "", sizeof(role));
		role[strcspn(role, "\r\n")] = '\0';
		if (role[0] == '\0' || strchr(role, '/') != NULL)
			rc = errf(err, errlen, "no IAM role attached to this instance");
	}
	if (rc == 0) {
		free(url);
		url = xasprintf("%.*s/latest/meta-data/iam/security-credentials/%s", (int)n,
		    base, role);
		rc = imds_request("GET", url, hdr, &resp, &status, &date, tries, err, errlen);
	}
	if (rc == 0)
		rc = take_json(c, &resp, status, date, err, errlen);
	if (hdr != NULL)
		freezero(hdr, strlen(hdr));
	s3_buf_free(&resp);
	free(url);
	if (rc == -1)
		return errprefix(err, errlen, "EC2 instance metadata (IMDSv2) at %.*s", (int)n,
		    base);
	log_kv(LOGL_INFO, "s3: temporary credentials from EC2 instance metadata", "role",
	    role, NULL);
	return 0;
}

/* Getting */

/* credentials = auto: the first source that is set up, in the SDKs' order. */
static enum source
find_source(struct s3_creds *c)
{
	const char	*off = getenv("AWS_EC2_METADATA_DISABLED");

	if (c->cfg_key != NULL)
		return SRC_STATIC;
	if (env_value("AWS_ACCESS_KEY_ID") != NULL &&
	    env_value("AWS_SECRET_ACCESS_KEY") != NULL)
		return SRC_ENV;
	if ((c->role_arn != NULL || env_value("AWS_ROLE_ARN") != NULL) &&
	    (c->token_file != NULL || env_value("AWS_WEB_IDENTITY_TOKEN_FILE") != NULL))
		return SRC_WEB;
	if (env_value("AWS_CONTAINER_CREDENTIALS_FULL_URI") != NULL ||
	    env_value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") != NULL)
		return SRC_CONTAINER;
	if (off == NULL || strcasecmp(off, "true") != 0)
		return SRC_IMDS;
	return SRC_AUTO;
}

static int
fetch(struct s3_creds *c, char *err, size_t errlen)
{
	switch (c->source) {
	case SRC_STATIC:
		return from_static(c, err, errlen);
	case SRC_ENV:
		return from_env(c, err, errlen);
	case SRC_WEB:
		return from_web_identity(c, err, errlen);
	case SRC_CONTAINER:
		return from_container(c, err, errlen);
	case SRC_IMDS:
		return from_imds(c, err, errlen);
	default:
		return errf(err, errlen, "no credentials found: no access_key and secret_key, "
		    "no AWS_ACCESS_KEY_ID, no web identity (role_arn, AWS_ROLE_ARN), no "
		    "container endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI), and EC2 "
		    "instance metadata disabled");
	}
}

int
s3_creds_get(struct s3_creds *c, const struct s3_cred **out, char *err, size_t errlen)
{
	uint64_t	now = s3_now_ms();

	if (c->source == SRC_AUTO)
		c->source = c->want != SRC_AUTO ? c->want : find_source(c);
	if (c->key == NULL || (c->temporary && now >= c->refresh_at)) {
		if (fetch(c, err, errlen) == -1) {
			if (c->key == NULL || now >= c->expires_at || cancel_requested()) {
				if (c->source == SRC_AUTO)
					errprefix(err, errlen, "credentials");
				else
					errprefix(err, errlen, "credentials (%s%s)",
					    c->want == SRC_AUTO ? "auto: " : "",
					    source_names[c->source]);
				return -1;
			}
			/* the old ones still hold: use them, try again a little later */
			log_kv(LOGL_WARN, "s3: credentials not refreshed; the current ones "
			    "are still valid", "error", err, NULL);
			c->refresh_at = now + RETRY_AFTER_MS;
		}
	}
	c->pub.access_key = c->key;
	c->pub.secret_key = c->secret;
	c->pub.token = c->token;
	*out = &c->pub;
	return 0;
}

int
s3_creds_expired(struct s3_creds *c)
{
	if (!c->temporary)
		return 0;
	c->refresh_at = s3_now_ms();
	c->expires_at = c->refresh_at;
	return 1;
}

/*
 * s3_xml: parsing of S3 responses (errors, listings, multipart results).
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "common/util.h"
#include "storage/s3/s3_xml.h"

static xmlDocPtr
parse(const char *body, size_t len)
{
	if (body == NULL || len == 0 || len > INT32_MAX)
		return NULL;
	return xmlReadMemory(body, (int)len, "s3.xml", NULL,
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static int
is(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static xmlNodePtr
child(xmlNodePtr parent, const char *name)
{
	xmlNodePtr	n;

	for (n = parent->children; n != NULL; n = n->next)
		if (is(n, name))
			return n;
	return NULL;
}

/* Text of the child element name, as a new string, or NULL. */
static char *
child_text(xmlNodePtr parent, const char *name)
{
	xmlNodePtr	 n;
	xmlChar		*c;
	char		*s;

	if ((n = child(parent, name)) == NULL)
		return NULL;
	if ((c = xmlNodeGetContent(n)) == NULL)
		return xstrdup("");
	s = xstrdup((const char *)c);
	xmlFree(c);
	return s;
}

/* The text of the child element name if it is there and not empty, or NULL. */
static char *
child_text_set(xmlNodePtr parent, const char *name)
{
	char	*s;

	if ((s = child_text(parent, name)) != NULL && *s == '\0') {
		free(s);
		s = NULL;
	}
	return s;
}

static void
child_copy(xmlNodePtr parent, const char *name, char *buf, size_t len)
{
	char	*s;

	buf[0] = '\0';
	if ((s = child_text(parent, name)) != NULL) {
		strlcpy(buf, s, len);
		free(s);
	}
}

static int
child_true(xmlNodePtr parent, const char *name)
{
	char	*s;
	int	 r;

	if ((s = child_text(parent, name)) == NULL)
		return 0;
	r = strcmp(s, "true") == 0;
	free(s);
	return r;
}

int
s3_xml_error(const char *body, size_t len, struct s3_error *e)
{
	xmlDocPtr	doc;
	xmlNodePtr	root;
	int		found = 0;

	memset(e, 0, sizeof(*e));
	if ((doc = parse(body, len)) == NULL)
		return 0;
	if ((root = xmlDocGetRootElement(doc)) != NULL && is(root, "ErrorResponse")) {
		child_copy(root, "RequestId", e->request_id, sizeof(e->request_id));
		root = child(root, "Error");
	}
	if (root != NULL && is(root, "Error")) {
		child_copy(root, "Code", e->code, sizeof(e->code));
		child_copy(root, "Message", e->message, sizeof(e->message));
		if (e->request_id[0] == '\0')
			child_copy(root, "RequestId", e->request_id, sizeof(e->request_id));
		found = 1;
	}
	xmlFreeDoc(doc);
	return found;
}

int
s3_xml_time(const char *s, time_t *t)
{
	struct tm	 tm;
	const char	*p;

	memset(&tm, 0, sizeof(tm));
	if ((p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return -1;
	*t = timegm(&tm);
	return 0;
}

/*
 * The root element of a response, which must be <name>: *docp to free with
 * xmlFreeDoc().  NULL (err filled, nothing to free) if it is not.
 */
static xmlNodePtr
response_root(const char *body, size_t len, const char *name, xmlDocPtr *docp, char *err,
    size_t errlen)
{
	xmlNodePtr	root;

	if ((*docp = parse(body, len)) == NULL) {
		errf(err, errlen, "unreadable XML in response");
		return NULL;
	}
	root = xmlDocGetRootElement(*docp);
	if (root == NULL || !is(root, name)) {
		errf(err, errlen, "unexpected XML in response: expected <%s>", name);
		xmlFreeDoc(*docp);
		*docp = NULL;
		return NULL;
	}
	return root;
}

static int
one_object(xmlNodePtr n, s3_xml_object_fn fn, void *arg, char *err, size_t errlen)
{
	char		*key, *size, *mod, *etag;
	uint64_t	 sz = 0;
	time_t		 mtime = 0;
	int		 r = -1;

	key = child_text(n, "Key");
	size = child_text(n, "Size");
	mod = child_text(n, "LastModified");
	etag = child_text(n, "ETag");
	if (key == NULL) {
		errf(err, errlen, "listing: <Contents> without <Key>");
		goto out;
	}
	if (size != NULL)
		sz = strtoull(size, NULL, 10);
	if (mod != NULL && s3_xml_time(mod, &mtime) == -1)
		mtime = 0;
	if (fn(key, sz, mtime, etag != NULL ? etag : "", arg) == -1) {
		errf(err, errlen, "listing stopped at %s", key);
		goto out;
	}
	r = 0;
out:
	free(key);
	free(size);
	free(mod);
	free(etag);
	return r;
}

int
s3_xml_list_objects(const char *body, size_t len, s3_xml_object_fn fn, void *arg,
    char **next, char *err, size_t errlen)
{
	xmlDocPtr	doc;
	xmlNodePtr	root, n;
	int		r = -1;

	*next = NULL;
	if ((root = response_root(body, len, "ListBucketResult", &doc, err, errlen)) == NULL)
		return -1;
	for (n = root->children; n != NULL; n = n->next) {
		if (is(n, "Contents") && one_object(n, fn, arg, err, errlen) == -1)
			goto out;
	}
	if (child_true(root, "IsTruncated") &&
	    (*next = child_text_set(root, "NextContinuationToken")) == NULL) {
		errf(err, errlen, "truncated listing without NextContinuationToken");
		goto out;
	}
	r = 0;
out:
	xmlFreeDoc(doc);
	return r;
}

/*
 * A listing paged by a key marker and a second marker (uploads, versions):
 * its root element, the entries' names, the second marker's name.
 */
struct listing {
	const char	*root;
	const char	*entry;
	const char	*entry2;	/* or NULL */
	const char	*next_id;
	const char	*what;		/* for messages */
};

typedef int (*entry_fn)(xmlNodePtr, void *ctx, char *err, size_t errlen);

static int
marked_listing(const char *body, size_t len, const struct listing *l, entry_fn one,
    void *ctx, char **next_key, char **next_id, char *err, size_t errlen)
{
	xmlDocPtr	doc;
	xmlNodePtr	root, n;
	int		r = -1;

	*next_key = *next_id = NULL;
	if ((root = response_root(body, len, l->root, &doc, err, errlen)) == NULL)
		return -1;
	for (n = root->children; n != NULL; n = n->next) {
		if ((is(n, l->entry) || (l->entry2 != NULL && is(n, l->entry2))) &&
		    one(n, ctx, err, errlen) == -1)
			goto out;
	}
	if (child_true(root, "IsTruncated")) {
		*next_key = child_text(root, "NextKeyMarker");
		*next_id = child_text(root, l->next_id);
		if (*next_key == NULL) {
			free(*next_id);
			*next_id = NULL;
			errf(err, errlen, "truncated %s listing without NextKeyMarker", l->what);
			goto out;
		}
	}
	r = 0;
out:
	xmlFreeDoc(doc);
	return r;
}

struct upload_ctx {
	s3_xml_upload_fn	 fn;
	void			*arg;
};

static int
one_upload(xmlNodePtr n, void *ctx, char *err, size_t errlen)
{
	struct upload_ctx	*c = ctx;
	char			*key, *id, *init;
	time_t			 t = 0;
	int			 r = -1;

	key = child_text(n, "Key");
	id = child_text(n, "UploadId");
	init = child_text(n, "Initiated");
	if (key == NULL || id == NULL || init == NULL || s3_xml_time(init, &t) == -1) {
		errf(err, errlen, "uploads listing: incomplete <Upload>");
		goto out;
	}
	if (c->fn(key, id, t, c->arg) == -1) {
		errf(err, errlen, "uploads listing stopped at %s", key);
		goto out;
	}
	r = 0;
out:
	free(key);
	free(id);
	free(init);
	return r;
}

int
s3_xml_list_uploads(const char *body, size_t len, s3_xml_upload_fn fn, void *arg,
    char **next_key, char **next_id, char *err, size_t errlen)
{
	static const struct listing	l = { "ListMultipartUploadsResult", "Upload", NULL,
					    "NextUploadIdMarker", "uploads" };
	struct upload_ctx		c = { fn, arg };

	return marked_listing(body, len, &l, one_upload, &c, next_key, next_id, err, errlen);
}

int
s3_xml_upload_id(const char *body, size_t len, char **id, char *err, size_t errlen)
{
	xmlDocPtr	doc;
	xmlNodePtr	root;
	int		r = 0;

	*id = NULL;
	if ((root = response_root(body, len, "InitiateMultipartUploadResult", &doc, err,
	    errlen)) == NULL)
		return -1;
	if ((*id = child_text_set(root, "UploadId")) == NULL)
		r = errf(err, errlen, "CreateMultipartUpload: no UploadId in response");
	xmlFreeDoc(doc);
	return r;
}

int
s3_xml_delete_result(const char *body, size_t len, char *err, size_t errlen)
{
	xmlDocPtr	 doc;
	xmlNodePtr	 root, n;
	char		 key[1024], code[64], msg[256];
	int		 r = 0;

	if ((root = response_root(body, len, "DeleteResult", &doc, err, errlen)) == NULL)
		return -1;
	if ((n = child(root, "Error")) != NULL) {
		child_copy(n, "Key", key, sizeof(key));
		child_copy(n, "Code", code, sizeof(code));
		child_copy(n, "Message", msg, sizeof(msg));
		r = errf(err, errlen, "delete %s: %s: %s", key, code, msg);
	}
	xmlFreeDoc(doc);
	return r;
}

struct version_ctx {
	s3_xml_version_fn	 fn;
	void			*arg;
};

static int
one_version(xmlNodePtr n, void *ctx, char *err, size_t errlen)
{
	struct version_ctx	*c = ctx;
	char			*key, *id;
	int			 r = -1;

	key = child_text(n, "Key");
	id = child_text(n, "VersionId");
	if (key == NULL || id == NULL) {
		errf(err, errlen, "versions listing: <%s> without <Key> or <VersionId>",
		    (const char *)n->name);
		goto out;
	}
	if (c->fn(key, id, is(n, "DeleteMarker"), c->arg) == -1) {
		errf(err, errlen, "versions listing stopped at %s", key);
		goto out;
	}
	r = 0;
out:
	free(key);
	free(id);
	return r;
}

int
s3_xml_list_versions(const char *body, size_t len, s3_xml_version_fn fn, void *arg,
    char **next_key, char **next_id, char *err, size_t errlen)
{
	static const struct listing	l = { "ListVersionsResult", "Version", "DeleteMarker",
					    "NextVersionIdMarker", "versions" };
	struct version_ctx		c = { fn, arg };

	return marked_listing(body, len, &l, one_version, &c, next_key, next_id, err, errlen);
}

int
s3_xml_versioning(const char *body, size_t len, char *err, size_t errlen)
{
	xmlDocPtr	doc;
	xmlNodePtr	root;
	char		status[32];

	if ((root = response_root(body, len, "VersioningConfiguration", &doc, err,
	    errlen)) == NULL)
		return -1;
	child_copy(root, "Status", status, sizeof(status));
	xmlFreeDoc(doc);
	return strcmp(status, "Enabled") == 0 ? 1 : strcmp(status, "Suspended") == 0 ? 2 : 0;
}

int
s3_xml_lock_config(const char *body, size_t len, int *enabled, char *mode, size_t modelen,
    char *period, size_t periodlen, char *err, size_t errlen)
{
	xmlDocPtr	doc;
	xmlNodePtr	root, n;
	char		v[32], days[24], years[24];

	*enabled = 0;
	mode[0] = period[0] = '\0';
	if ((root = response_root(body, len, "ObjectLockConfiguration", &doc, err,
	    errlen)) == NULL)
		return -1;
	child_copy(root, "ObjectLockEnabled", v, sizeof(v));
	*enabled = strcmp(v, "Enabled") == 0;
	if ((n = child(root, "Rule")) != NULL && (n = child(n, "DefaultRetention")) != NULL) {
		child_copy(n, "Mode", mode, modelen);
		child_copy(n, "Days", days, sizeof(days));
		child_copy(n, "Years", years, sizeof(years));
		if (days[0] != '\0')
			snprintf(period, periodlen, "%sd", days);
		else if (years[0] != '\0')
			snprintf(period, periodlen, "%sy", years);
	}
	xmlFreeDoc(doc);
	return 0;
}

int
s3_xml_retention(const char *body, size_t len, char *mode, size_t modelen, time_t *until,
    char *err, size_t errlen)
{
	xmlDocPtr	doc;
	xmlNodePtr	root;
	char		date[64];
	int		r = 0;

	mode[0] = '\0';
	*until = 0;
	if ((root = response_root(body, len, "Retention", &doc, err, errlen)) == NULL)
		return -1;
	child_copy(root, "Mode", mode, modelen);
	child_copy(root, "RetainUntilDate", date, sizeof(date));
	if (date[0] != '\0' && s3_xml_time(date, until) == -1)
		r = errf(err, errlen, "retention: bad RetainUntilDate");
	xmlFreeDoc(doc);
	return r;
}

int
s3_xml_sts_credentials(const char *body, size_t len, char **access_key, char **secret_key,
    char **token, time_t *expiration, char *err, size_t errlen)
{
	xmlDocPtr	 doc = parse(body, len);
	xmlNodePtr	 root, n;
	char		*exp = NULL;
	int		 r = -1;

	*access_key = *secret_key = *token = NULL;
	*expiration = 0;
	if (doc == NULL || (root = xmlDocGetRootElement(doc)) == NULL) {
		errf(err, errlen, "unreadable XML in response");
		goto out;
	}
	/* <XResponse><XResult><Credentials> */
	for (n = root->children; n != NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE && child(n, "Credentials") != NULL)
			break;
	if (n == NULL || (n = child(n, "Credentials")) == NULL) {
		errf(err, errlen, "no <Credentials> in the answer");
		goto out;
	}
	*access_key = child_text(n, "AccessKeyId");
	*secret_key = child_text(n, "SecretAccessKey");
	*token = child_text(n, "SessionToken");
	exp = child_text(n, "Expiration");
	if (*access_key == NULL || *secret_key == NULL || **access_key == '\0' ||
	    **secret_key == '\0') {
		errf(err, errlen, "<Credentials> without AccessKeyId or SecretAccessKey");
		goto out;
	}
	if (exp != NULL && s3_xml_time(exp, expiration) == -1) {
		errf(err, errlen, "<Credentials> with a bad Expiration");
		goto out;
	}
	r = 0;
out:
	if (r == -1) {
		if (*secret_key != NULL)
			freezero(*secret_key, strlen(*secret_key));
		if (*token != NULL)
			freezero(*token, strlen(*token));
		free(*access_key);
		*access_key = *secret_key = *token = NULL;
	}
	free(exp);
	if (doc != NULL)
		xmlFreeDoc(doc);
	return r;
}

static void
append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	while (*len + n + 1 > *cap) {
		*cap = *cap == 0 ? 4096 : *cap * 2;
		*buf = xreallocarray(*buf, *cap, 1);
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

void
s3_xml_append(char **buf, size_t *len, size_t *cap, const char *s)
{
	append(buf, len, cap, s, strlen(s));
}

void
s3_xml_escape(char **buf, size_t *len, size_t *cap, const char *s)
{
	const char	*p;

	for (p = s; *p != '\0'; p++) {
		switch (*p) {
		case '&':
			append(buf, len, cap, "&amp;", 5);
			break;
		case '<':
			append(buf, len, cap, "&lt;", 4);
			break;
		case '>':
			append(buf, len, cap, "&gt;", 4);
			break;
		case '"':
			append(buf, len, cap, "&quot;", 6);
			break;
		case '\'':
			append(buf, len, cap, "&apos;", 6);
			break;
		default:
			append(buf, len, cap, p, 1);
		}
	}
}

/*
 * manifest: manifest.json to and from struct manifest, with jansson.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/util.h"
#include "runner/catalog/manifest.h"

static json_t *
time_json(time_t t)
{
	char	buf[21];

	time_to_rfc3339(t, buf);
	return json_string(buf);
}

char *
manifest_to_json(const struct manifest *m)
{
	json_t	*o, *enc, *labels, *l;
	char	*s;
	size_t	 i;

	enc = json_pack("{s:s, s:s}", "cipher", m->container.cipher, "kdf",
	    m->container.kdf);
	if (strcmp(m->container.kdf, "scrypt") == 0) {
		json_object_set_new(enc, "scrypt_n", json_integer((json_int_t)m->container.scrypt_n));
		json_object_set_new(enc, "scrypt_r", json_integer(m->container.scrypt_r));
		json_object_set_new(enc, "scrypt_p", json_integer(m->container.scrypt_p));
	}
	if (strcmp(m->container.kdf, "none") != 0)
		json_object_set_new(enc, "salt", json_string(m->container.salt_hex));
	labels = json_array();
	for (i = 0; i < m->nlabels; i++) {
		l = json_pack("{s:s}", "name", m->labels[i].name);
		json_object_set_new(l, "expires", time_json(m->labels[i].expires));
		json_array_append_new(labels, l);
	}
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "format", m->format, "id", m->id, "name", m->name, "namespace", m->namespace_,
	    "engine", m->engine, "tool_version", m->tool_version ? m->tool_version : "",
	    "mode", m->mode, "data", m->data_key);
	json_object_set_new(o, "started", time_json(m->started));
	json_object_set_new(o, "finished", time_json(m->finished));
	json_object_set_new(o, "raw_bytes", json_integer((json_int_t)m->raw_bytes));
	json_object_set_new(o, "stored_bytes", json_integer((json_int_t)m->stored_bytes));
	json_object_set_new(o, "sha256", json_string(m->sha256));
	json_object_set_new(o, "compression", json_string(m->compression));
	json_object_set_new(o, "frames", json_integer((json_int_t)m->container.frames));
	json_object_set_new(o, "encryption", enc);
	json_object_set_new(o, "labels", labels);
	json_object_set_new(o, "runner_version", json_string(m->runner_version));
	json_object_set_new(o, "host", json_string(m->host));
	s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

static int
get_string(json_t *o, const char *key, int required, size_t max, char **out, char *err,
    size_t errlen)
{
	json_t	*v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL && !required)
		return 0;
	if (!json_is_string(v) || json_string_length(v) > max)
		return errf(err, errlen, "%s: missing, not a string or too long", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return errf(err, errlen, "%s: holds a NUL character", key);
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int
get_time(json_t *o, const char *key, time_t *t, char *err, size_t errlen)
{
	json_t		*v = json_object_get(o, key);
	struct tm	 tm;
	const char	*end;

	memset(&tm, 0, sizeof(tm));
	if (!json_is_string(v) || (end = strptime(json_string_value(v),
	    "%Y-%m-%dT%H:%M:%SZ", &tm)) == NULL || *end != '\0')
		return errf(err, errlen, "%s: not a time like 2026-11-24T03:00:00Z", key);
	*t = timegm(&tm);
	return 0;
}

static int
get_uint(json_t *o, const char *key, uint64_t *n, char *err, size_t errlen)
{
	json_t	*v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return errf(err, errlen, "%s: not a non-negative integer", key);
	*n = (uint64_t)json_integer_value(v);
	return 0;
}

static int
is_hex(const char *s, size_t len)
{
	size_t	i;

	if (strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (strchr("0123456789abcdef", s[i]) == NULL)
			return 0;
	return 1;
}

static int
parse_encryption(json_t *enc, struct container_info *ci, char *err, size_t errlen)
{
	char		*cipher = NULL, *kdf = NULL, *salt = NULL;
	uint64_t	 n;
	int		 rc = -1;

	if (!json_is_object(enc))
		return errf(err, errlen, "encryption: not an object");
	if (get_string(enc, "cipher", 1, 31, &cipher, err, errlen) == -1 ||
	    get_string(enc, "kdf", 1, 15, &kdf, err, errlen) == -1)
		goto out;
	strlcpy(ci->cipher, cipher, sizeof(ci->cipher));
	strlcpy(ci->kdf, kdf, sizeof(ci->kdf));
	if (strcmp(kdf, "scrypt") == 0) {
		if (get_uint(enc, "scrypt_n", &ci->scrypt_n, err, errlen) == -1 ||
		    get_uint(enc, "scrypt_r", &n, err, errlen) == -1 || n > UINT32_MAX)
			goto out;
		ci->scrypt_r = (uint32_t)n;
		if (get_uint(enc, "scrypt_p", &n, err, errlen) == -1 || n > UINT32_MAX)
			goto out;
		ci->scrypt_p = (uint32_t)n;
	}
	if (strcmp(kdf, "none") != 0) {
		if (get_string(enc, "salt", 1, 64, &salt, err, errlen) == -1)
			goto out;
		strlcpy(ci->salt_hex, salt, sizeof(ci->salt_hex));
	}
	rc = 0;
out:
	free(cipher);
	free(kdf);
	free(salt);
	return rc == 0 ? 0 : errprefix(err, errlen, "encryption");
}

static int
parse_labels(json_t *labels, struct manifest *m, char *err, size_t errlen)
{
	json_t	*l;
	size_t	 i;
	char	*name;
	time_t	 expires;

	if (!json_is_array(labels) || json_array_size(labels) > 1000)
		return errf(err, errlen, "labels: not an array of at most 1000");
	json_array_foreach(labels, i, l) {
		if (!json_is_object(l) ||
		    get_string(l, "name", 1, 256, &name, err, errlen) == -1)
			return errf(err, errlen, "labels[%zu]: not a label", i);
		if (get_time(l, "expires", &expires, err, errlen) == -1) {
			free(name);
			return errprefix(err, errlen, "labels[%zu]", i);
		}
		manifest_add_label(m, name, expires);
		free(name);
	}
	return 0;
}

static int
parse_fields(json_t *o, struct manifest *m, char *err, size_t errlen)
{
	char	*id = NULL, *sha = NULL;
	json_t	*fmt;
	int	 rc = -1;

	fmt = json_object_get(o, "format");
	if (!json_is_integer(fmt) || json_integer_value(fmt) != MANIFEST_FORMAT)
		return errf(err, errlen, "format: not version %d", MANIFEST_FORMAT);
	m->format = MANIFEST_FORMAT;
	if (get_string(o, "id", 1, 16, &id, err, errlen) == -1)
		goto out;
	time_t t;
	if (id_to_time(id, &t) == -1) {
		errf(err, errlen, "id: '%s' is not like 20261124T030000Z", id);
		goto out;
	}
	strlcpy(m->id, id, sizeof(m->id));
	if (get_string(o, "name", 1, 63, &m->name, err, errlen) == -1 ||
	    get_string(o, "namespace", 1, 63, &m->namespace_, err, errlen) == -1 ||
	    get_string(o, "engine", 1, 32, &m->engine, err, errlen) == -1 ||
	    get_string(o, "tool_version", 0, 256, &m->tool_version, err, errlen) == -1 ||
	    get_string(o, "mode", 1, 16, &m->mode, err, errlen) == -1 ||
	    get_string(o, "data", 1, 1024, &m->data_key, err, errlen) == -1 ||
	    get_time(o, "started", &m->started, err, errlen) == -1 ||
	    get_time(o, "finished", &m->finished, err, errlen) == -1 ||
	    get_uint(o, "raw_bytes", &m->raw_bytes, err, errlen) == -1 ||
	    get_uint(o, "stored_bytes", &m->stored_bytes, err, errlen) == -1 ||
	    get_string(o, "sha256", 1, 64, &sha, err, errlen) == -1 ||
	    get_string(o, "compression", 1, 16, &m->compression, err, errlen) == -1 ||
	    get_string(o, "runner_version", 0, 64, &m->runner_version, err, errlen) == -1 ||
	    get_string(o, "host", 0, 256, &m->host, err, errlen) == -1)
		goto out;
	if (!is_hex(sha, 64)) {
		errf(err, errlen, "sha256: not 64 lowercase hex digits");
		goto out;
	}
	strlcpy(m->sha256, sha, sizeof(m->sha256));
	if (json_object_get(o, "frames") != NULL &&
	    get_uint(o, "frames", &m->container.frames, err, errlen) == -1)
		goto out;
	if (parse_encryption(json_object_get(o, "encryption"), &m->container, err,
	    errlen) == -1 || parse_labels(json_object_get(o, "labels"), m, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	free(id);
	free(sha);
	return rc;
}

int
manifest_from_json(const char *buf, size_t len, struct manifest *m, char *err,
    size_t errlen)
{
	json_error_t	 jerr;
	json_t		*o;
	int		 rc;

	memset(m, 0, sizeof(*m));
	if (len > MANIFEST_MAX)
		return errf(err, errlen, "manifest larger than %d bytes", MANIFEST_MAX);
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return errf(err, errlen, "not JSON: %s (line %d)", jerr.text, jerr.line);
	if (!json_is_object(o))
		rc = errf(err, errlen, "not a JSON object");
	else
		rc = parse_fields(o, m, err, errlen);
	json_decref(o);
	if (rc == -1)
		manifest_free(m);
	return rc;
}

void
manifest_add_label(struct manifest *m, const char *name, time_t expires)
{
	m->labels = xreallocarray(m->labels, m->nlabels + 1, sizeof(*m->labels));
	m->labels[m->nlabels].name = xstrdup(name);
	m->labels[m->nlabels].expires = expires;
	m->nlabels++;
}

void
manifest_free(struct manifest *m)
{
	size_t	i;

	free(m->name);
	free(m->namespace_);
	free(m->engine);
	free(m->tool_version);
	free(m->mode);
	free(m->data_key);
	free(m->compression);
	free(m->runner_version);
	free(m->host);
	for (i = 0; i < m->nlabels; i++)
		free(m->labels[i].name);
	free(m->labels);
	memset(m, 0, sizeof(*m));
}

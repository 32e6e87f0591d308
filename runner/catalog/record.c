/*
 * record: backup records to and from JSON, with jansson.  See record.h.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "common/config.h"
#include "common/util.h"
#include "common/xjson.h"
#include "runner/catalog/record.h"

static json_t *
time_json(time_t t)
{
	char	buf[21];

	time_to_rfc3339(t, buf);
	return json_string(buf);
}

static json_t *
encryption_json(const struct container_info *ci)
{
	json_t	*enc;

	enc = json_pack("{s:s, s:s}", "cipher", ci->cipher, "kdf", ci->kdf);
	if (strcmp(ci->kdf, "scrypt") == 0) {
		json_object_set_new(enc, "scrypt_n", json_integer((json_int_t)ci->scrypt_n));
		json_object_set_new(enc, "scrypt_r", json_integer(ci->scrypt_r));
		json_object_set_new(enc, "scrypt_p", json_integer(ci->scrypt_p));
	}
	if (strcmp(ci->kdf, "none") != 0)
		json_object_set_new(enc, "salt", json_string(ci->salt_hex));
	return enc;
}

static json_t *
part_json(const struct record_part *p)
{
	json_t	*o;

	o = json_pack("{s:s, s:s}", "name", p->name, "key", p->key);
	json_object_set_new(o, "raw_bytes", json_integer((json_int_t)p->raw_bytes));
	json_object_set_new(o, "stored_bytes", json_integer((json_int_t)p->stored_bytes));
	json_object_set_new(o, "sha256", json_string(p->sha256));
	json_object_set_new(o, "frames", json_integer((json_int_t)p->container.frames));
	json_object_set_new(o, "encryption", encryption_json(&p->container));
	return o;
}

/*
 * The checksum of a record: SHA-256 of its compact JSON without the
 * checksum itself, as record_fields() makes it from the parsed record, so
 * that how a file is laid out does not matter and a flipped bit does.
 */
static json_t *record_fields(const struct backup_record *);

static void
record_checksum(const struct backup_record *r, char out[72])
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	json_t		*o = record_fields(r);
	char		*s, hex[65];

	s = xjson_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	SHA256((const unsigned char *)s, strlen(s), md);
	hex_encode(md, sizeof(md), hex);
	snprintf(out, 72, "sha256:%s", hex);
	free(s);
}

json_t *
record_to_json(const struct backup_record *r)
{
	json_t	*o = record_fields(r);
	char	 sum[72];

	record_checksum(r, sum);
	json_object_set_new(o, "checksum", json_string(sum));
	return o;
}

static json_t *
record_fields(const struct backup_record *r)
{
	json_t	*o, *parts, *labels;
	size_t	 i;

	/* Always in the format written now: a record read from format 1 is rewritten as 2. */
	o = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:s}", "format", RECORD_FORMAT,
	    "id", r->id, "name", r->name, "namespace", r->namespace_, "engine", r->engine,
	    "tool_version", r->tool_version != NULL ? r->tool_version : "", "mode", r->mode);
	json_object_set_new(o, "started", time_json(r->started));
	json_object_set_new(o, "finished", time_json(r->finished));
	json_object_set_new(o, "raw_bytes", json_integer((json_int_t)r->raw_bytes));
	json_object_set_new(o, "stored_bytes", json_integer((json_int_t)r->stored_bytes));
	json_object_set_new(o, "compression", json_string(r->compression));
	parts = json_array();
	for (i = 0; i < r->nparts; i++)
		json_array_append_new(parts, part_json(&r->parts[i]));
	json_object_set_new(o, "parts", parts);
	labels = json_array();
	for (i = 0; i < r->nlabels; i++)
		json_array_append_new(labels, json_pack("{s:s, s:o}", "name",
		    r->labels[i].name, "expires", time_json(r->labels[i].expires)));
	json_object_set_new(o, "labels", labels);
	json_object_set_new(o, "runner_version", json_string(r->runner_version != NULL ?
	    r->runner_version : ""));
	json_object_set_new(o, "host", json_string(r->host != NULL ? r->host : ""));
	if (r->runner_id != NULL)
		json_object_set_new(o, "runner_id", json_string(r->runner_id));
	if (r->details != NULL)
		json_object_set(o, "details", r->details);
	return o;
}

char *
record_to_text(const struct backup_record *r)
{
	return xjson_dumps(record_to_json(r), JSON_INDENT(2) | JSON_PRESERVE_ORDER);
}

/* Readers: each fills err with the key and what was expected. */

static int
only_keys(const json_t *o, const char *const *keys, char *err, size_t errlen)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	json_object_foreach((json_t *)o, k, v) {
		for (i = 0; keys[i] != NULL; i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (keys[i] == NULL)
			return errf(err, errlen, "unknown key \"%.32s\"", k);
	}
	return 0;
}

static int
get_string(const json_t *o, const char *key, int required, size_t max, char **out,
    char *err, size_t errlen)
{
	const json_t	*v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL && !required)
		return 0;
	if (!json_is_string(v) || json_string_length(v) > max)
		return errf(err, errlen, "%s: missing, not a string or longer than %zu", key,
		    max);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return errf(err, errlen, "%s: holds a NUL character", key);
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int
get_time(const json_t *o, const char *key, time_t *t, char *err, size_t errlen)
{
	const json_t	*v = json_object_get(o, key);

	if (!json_is_string(v) || rfc3339_to_time(json_string_value(v), t) == -1)
		return errf(err, errlen, "%s: not a time like 2026-11-24T03:00:00Z", key);
	return 0;
}

static int
get_uint(const json_t *o, const char *key, uint64_t *n, char *err, size_t errlen)
{
	const json_t	*v = json_object_get(o, key);

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
get_encryption(const json_t *enc, struct container_info *ci, char *err, size_t errlen)
{
	static const char *const keys[] = { "cipher", "kdf", "scrypt_n", "scrypt_r",
	    "scrypt_p", "salt", NULL };
	char		*cipher = NULL, *kdf = NULL, *salt = NULL;
	uint64_t	 n;
	int		 rc = -1;

	if (!json_is_object(enc))
		return errf(err, errlen, "encryption: not an object");
	if (only_keys(enc, keys, err, errlen) == -1 ||
	    get_string(enc, "cipher", 1, 31, &cipher, err, errlen) == -1 ||
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
		if (!is_hex(salt, strlen(salt)) || *salt == '\0') {
			errf(err, errlen, "salt: not hex digits");
			goto out;
		}
		strlcpy(ci->salt_hex, salt, sizeof(ci->salt_hex));
	}
	rc = 0;
out:
	free(cipher);
	free(kdf);
	free(salt);
	return rc == 0 ? 0 : errprefix(err, errlen, "encryption");
}

/* A key read back from storage: relative, no "..", no control characters. */
static int
key_sane(const char *key)
{
	const char	*p;

	if (*key == '\0' || *key == '/' || strstr(key, "..") != NULL)
		return 0;
	for (p = key; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

/*
 * The fields a part has in format 2, and the top level of format 1; p->key
 * has been read (from "key", or format 1's "data").
 */
static int
get_part_fields(const json_t *o, struct record_part *p, char *err, size_t errlen)
{
	char	*sha = NULL;
	int	 rc = -1;

	if (!key_sane(p->key)) {
		errf(err, errlen, "key: \"%.64s\" is not a relative key", p->key);
		goto out;
	}
	if (get_uint(o, "stored_bytes", &p->stored_bytes, err, errlen) == -1 ||
	    get_string(o, "sha256", 1, 64, &sha, err, errlen) == -1)
		goto out;
	if (!is_hex(sha, 64)) {
		errf(err, errlen, "sha256: not 64 lowercase hex digits");
		goto out;
	}
	strlcpy(p->sha256, sha, sizeof(p->sha256));
	if (json_object_get(o, "frames") != NULL &&
	    get_uint(o, "frames", &p->container.frames, err, errlen) == -1)
		goto out;
	rc = get_encryption(json_object_get(o, "encryption"), &p->container, err, errlen);
out:
	free(sha);
	return rc;
}

static void
part_free(struct record_part *p)
{
	free(p->name);
	free(p->key);
	memset(p, 0, sizeof(*p));
}

static int
get_part(const json_t *o, struct record_part *p, char *err, size_t errlen)
{
	static const char *const keys[] = { "name", "key", "raw_bytes", "stored_bytes",
	    "sha256", "frames", "encryption", NULL };

	memset(p, 0, sizeof(*p));
	if (!json_is_object(o))
		return errf(err, errlen, "not an object");
	if (only_keys(o, keys, err, errlen) == -1 ||
	    get_string(o, "name", 1, 255, &p->name, err, errlen) == -1 ||
	    get_string(o, "key", 1, RECORD_KEY_MAX, &p->key, err, errlen) == -1 ||
	    get_uint(o, "raw_bytes", &p->raw_bytes, err, errlen) == -1 ||
	    get_part_fields(o, p, err, errlen) == -1) {
		part_free(p);
		return -1;
	}
	if (*p->name == '\0') {
		part_free(p);
		return errf(err, errlen, "name: empty");
	}
	return 0;
}

static int
get_parts(const json_t *parts, struct backup_record *r, char *err, size_t errlen)
{
	struct record_part	 p;
	size_t			 i, j;

	if (!json_is_array(parts) || json_array_size(parts) == 0 ||
	    json_array_size(parts) > RECORD_PARTS_MAX)
		return errf(err, errlen, "parts: not an array of 1 to %d parts",
		    RECORD_PARTS_MAX);
	r->parts = xcalloc(json_array_size(parts), sizeof(*r->parts));
	for (i = 0; i < json_array_size(parts); i++) {
		if (get_part(json_array_get(parts, i), &p, err, errlen) == -1)
			return errprefix(err, errlen, "parts[%zu]", i);
		for (j = 0; j < r->nparts; j++)
			if (strcmp(r->parts[j].name, p.name) == 0 ||
			    strcmp(r->parts[j].key, p.key) == 0) {
				part_free(&p);
				return errf(err, errlen, "parts[%zu]: name or key given twice", i);
			}
		r->parts[r->nparts++] = p;
	}
	return 0;
}

int
record_label_valid(const char *name)
{
	const char	*colon, *p;
	char		 rule[RECORD_LABEL_MAX + 1];
	size_t		 len = strlen(name);

	if (len == 0 || len > RECORD_LABEL_MAX || (colon = strchr(name, ':')) == NULL ||
	    colon[1] == '\0')
		return 0;
	memcpy(rule, name, (size_t)(colon - name));
	rule[colon - name] = '\0';
	if (!config_is_name(rule))
		return 0;
	for (p = colon + 1; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

static int
get_labels(const json_t *labels, struct backup_record *r, char *err, size_t errlen)
{
	static const char *const keys[] = { "name", "expires", NULL };
	const json_t	*l;
	char		*name;
	time_t		 expires;
	size_t		 i, j;

	if (!json_is_array(labels) || json_array_size(labels) > RECORD_LABELS_MAX)
		return errf(err, errlen, "labels: not an array of at most %d",
		    RECORD_LABELS_MAX);
	json_array_foreach(labels, i, l) {
		if (!json_is_object(l) || only_keys(l, keys, err, errlen) == -1 ||
		    get_string(l, "name", 1, RECORD_LABEL_MAX, &name, err, errlen) == -1)
			return errf(err, errlen, "labels[%zu]: not a label", i);
		if (!record_label_valid(name)) {
			free(name);
			return errf(err, errlen, "labels[%zu]: name is not RULE:VALUE", i);
		}
		for (j = 0; j < r->nlabels; j++)
			if (strcmp(r->labels[j].name, name) == 0) {
				free(name);
				return errf(err, errlen, "labels[%zu]: given twice", i);
			}
		if (get_time(l, "expires", &expires, err, errlen) == -1) {
			free(name);
			return errprefix(err, errlen, "labels[%zu]", i);
		}
		record_add_label(r, name, expires);
		free(name);
	}
	return 0;
}

/* Format 1: the one part's fields at the top level; "data" is its key. */
static int
get_format1_part(const json_t *o, struct backup_record *r, char *err, size_t errlen)
{
	struct record_part	p;

	memset(&p, 0, sizeof(p));
	if (get_string(o, "data", 1, RECORD_KEY_MAX, &p.key, err, errlen) == -1)
		return -1;
	if (get_part_fields(o, &p, err, errlen) == -1) {
		part_free(&p);
		return -1;
	}
	p.name = xstrdup("data");
	p.raw_bytes = r->raw_bytes;
	r->parts = xcalloc(1, sizeof(*r->parts));
	r->parts[0] = p;
	r->nparts = 1;
	return 0;
}

static int
get_common(const json_t *o, struct backup_record *r, char *err, size_t errlen)
{
	char	*id = NULL;
	time_t	 t;
	int	 rc = -1;

	if (get_string(o, "id", 1, BACKUP_ID_MAX - 1, &id, err, errlen) == -1)
		return -1;
	if (backup_id_parse(id, &t) == -1) {
		errf(err, errlen, "id: '%s' is not a backup ID like 20261124T030000Z-3fa94c",
		    id);
		goto out;
	}
	strlcpy(r->id, id, sizeof(r->id));
	if (get_string(o, "name", 1, 63, &r->name, err, errlen) == -1 ||
	    get_string(o, "namespace", 1, 63, &r->namespace_, err, errlen) == -1 ||
	    get_string(o, "engine", 1, 32, &r->engine, err, errlen) == -1 ||
	    get_string(o, "tool_version", 0, 256, &r->tool_version, err, errlen) == -1 ||
	    get_string(o, "mode", 1, 16, &r->mode, err, errlen) == -1 ||
	    get_time(o, "started", &r->started, err, errlen) == -1 ||
	    get_time(o, "finished", &r->finished, err, errlen) == -1 ||
	    get_uint(o, "raw_bytes", &r->raw_bytes, err, errlen) == -1 ||
	    get_uint(o, "stored_bytes", &r->stored_bytes, err, errlen) == -1 ||
	    get_string(o, "compression", 1, 16, &r->compression, err, errlen) == -1 ||
	    get_string(o, "runner_version", 0, 64, &r->runner_version, err, errlen) == -1 ||
	    get_string(o, "host", 0, 256, &r->host, err, errlen) == -1)
		goto out;
	if (strcmp(r->mode, "retained") != 0 && strcmp(r->mode, "single") != 0) {
		errf(err, errlen, "mode: '%s' is not retained or single", r->mode);
		goto out;
	}
	if (r->finished < r->started) {
		errf(err, errlen, "finished: before started");
		goto out;
	}
	rc = get_labels(json_object_get(o, "labels"), r, err, errlen);
out:
	free(id);
	return rc;
}

static int
get_format2(const json_t *o, struct backup_record *r, char *err, size_t errlen)
{
	static const char *const keys[] = { "format", "id", "name", "namespace", "engine",
	    "tool_version", "mode", "started", "finished", "raw_bytes", "stored_bytes",
	    "compression", "parts", "labels", "runner_version", "host", "runner_id",
	    "details", "checksum", NULL };
	const json_t	*details, *sum;
	char		 want[72];

	if (only_keys(o, keys, err, errlen) == -1 || get_common(o, r, err, errlen) == -1 ||
	    get_string(o, "runner_id", 0, 32, &r->runner_id, err, errlen) == -1 ||
	    get_parts(json_object_get(o, "parts"), r, err, errlen) == -1)
		return -1;
	if ((details = json_object_get(o, "details")) != NULL) {
		if (!json_is_object(details))
			return errf(err, errlen, "details: not an object");
		r->details = json_deep_copy(details);
	}
	sum = json_object_get(o, "checksum");
	if (!json_is_string(sum))
		return errf(err, errlen, "checksum: missing or not a string");
	record_checksum(r, want);
	if (strcmp(json_string_value(sum), want) != 0)
		return errf(err, errlen, "checksum: the manifest is not what was written "
		    "(%.24s..., its fields give %.24s...)", json_string_value(sum), want);
	return 0;
}

int
record_from_json(const json_t *o, struct backup_record *r, char *err, size_t errlen)
{
	const json_t	*fmt;
	int		 rc;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(o))
		return errf(err, errlen, "not a JSON object");
	fmt = json_object_get(o, "format");
	if (!json_is_integer(fmt) || json_integer_value(fmt) < 1)
		return errf(err, errlen, "format: missing or not a number");
	if (json_integer_value(fmt) > RECORD_FORMAT)
		return errf(err, errlen, "format %lld: written by a newer kbackup (this one "
		    "reads formats 1 and %d); upgrade it", (long long)json_integer_value(fmt),
		    RECORD_FORMAT);
	r->format = (int)json_integer_value(fmt);
	if (r->format == 1)
		rc = get_common(o, r, err, errlen) == -1 ||
		    get_format1_part(o, r, err, errlen) == -1 ? -1 : 0;
	else
		rc = get_format2(o, r, err, errlen);
	if (rc == -1)
		record_free(r);
	return rc;
}

int
record_parse(const char *buf, size_t len, struct backup_record *r, char *err,
    size_t errlen)
{
	json_error_t	 jerr;
	json_t		*o;
	int		 rc;

	memset(r, 0, sizeof(*r));
	if (len > RECORD_JSON_MAX)
		return errf(err, errlen, "larger than %d bytes", RECORD_JSON_MAX);
	if (len == 0)
		return errf(err, errlen, "empty");
	if ((o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return errf(err, errlen, "not JSON: %s (line %d)", jerr.text, jerr.line);
	rc = record_from_json(o, r, err, errlen);
	json_decref(o);
	return rc;
}

void
record_free(struct backup_record *r)
{
	size_t	i;

	free(r->name);
	free(r->namespace_);
	free(r->engine);
	free(r->tool_version);
	free(r->mode);
	free(r->compression);
	for (i = 0; i < r->nparts; i++)
		part_free(&r->parts[i]);
	free(r->parts);
	record_labels_free(r->labels, r->nlabels);
	free(r->runner_version);
	free(r->host);
	free(r->runner_id);
	if (r->details != NULL)
		json_decref(r->details);
	memset(r, 0, sizeof(*r));
}

void
record_copy(struct backup_record *d, const struct backup_record *s)
{
	size_t	i;

	*d = *s;
	d->name = xstrdup_or_null(s->name);
	d->namespace_ = xstrdup_or_null(s->namespace_);
	d->engine = xstrdup_or_null(s->engine);
	d->tool_version = xstrdup_or_null(s->tool_version);
	d->mode = xstrdup_or_null(s->mode);
	d->compression = xstrdup_or_null(s->compression);
	d->runner_version = xstrdup_or_null(s->runner_version);
	d->host = xstrdup_or_null(s->host);
	d->runner_id = xstrdup_or_null(s->runner_id);
	d->details = s->details != NULL ? json_deep_copy(s->details) : NULL;
	d->parts = xcalloc(s->nparts > 0 ? s->nparts : 1, sizeof(*d->parts));
	for (i = 0; i < s->nparts; i++) {
		d->parts[i] = s->parts[i];
		d->parts[i].name = xstrdup(s->parts[i].name);
		d->parts[i].key = xstrdup(s->parts[i].key);
	}
	d->labels = xcalloc(s->nlabels > 0 ? s->nlabels : 1, sizeof(*d->labels));
	for (i = 0; i < s->nlabels; i++) {
		d->labels[i].name = xstrdup(s->labels[i].name);
		d->labels[i].expires = s->labels[i].expires;
	}
}

void
record_labels_add(struct label **v, size_t *n, const char *name, time_t expires)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[*n].name = xstrdup(name);
	(*v)[*n].expires = expires;
	(*n)++;
}

void
record_labels_free(struct label *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

void
record_add_label(struct backup_record *r, const char *name, time_t expires)
{
	record_labels_add(&r->labels, &r->nlabels, name, expires);
}

void
record_add_part(struct backup_record *r, const struct record_part *p)
{
	r->parts = xreallocarray(r->parts, r->nparts + 1, sizeof(*r->parts));
	r->parts[r->nparts] = *p;
	r->parts[r->nparts].name = xstrdup(p->name);
	r->parts[r->nparts].key = xstrdup(p->key);
	r->nparts++;
	r->raw_bytes += p->raw_bytes;
	r->stored_bytes += p->stored_bytes;
}

time_t
record_kept_until(const struct backup_record *r)
{
	time_t	until = 0;
	size_t	i;

	for (i = 0; i < r->nlabels; i++)
		if (r->labels[i].expires > until)
			until = r->labels[i].expires;
	return until;
}

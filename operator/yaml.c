/*
 * yaml: libyaml's event parser and emitter bridged to jansson values.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "common/util.h"
#include "operator/yaml.h"

#define MAX_DEPTH	128

struct anchor {
	char	*name;
	json_t	*value;
};

struct reader {
	yaml_parser_t	 parser;
	struct anchor	*anchors;
	size_t		 nanchors;
	char		*err;
	size_t		 errlen;
};

static void
anchors_free(struct reader *r)
{
	size_t	i;

	for (i = 0; i < r->nanchors; i++) {
		free(r->anchors[i].name);
		json_decref(r->anchors[i].value);
	}
	free(r->anchors);
	r->anchors = NULL;
	r->nanchors = 0;
}

static void
anchor_add(struct reader *r, const unsigned char *name, json_t *v)
{
	if (name == NULL)
		return;
	r->anchors = xreallocarray(r->anchors, r->nanchors + 1, sizeof(*r->anchors));
	r->anchors[r->nanchors].name = xstrdup((const char *)name);
	r->anchors[r->nanchors].value = json_incref(v);
	r->nanchors++;
}

static json_t *
anchor_find(struct reader *r, const unsigned char *name)
{
	size_t	i;

	for (i = r->nanchors; i > 0; i--)
		if (strcmp(r->anchors[i - 1].name, (const char *)name) == 0)
			return json_incref(r->anchors[i - 1].value);
	return NULL;
}

static int
parse_error(struct reader *r)
{
	return errf(r->err, r->errlen, "yaml: line %zu column %zu: %s",
	    r->parser.problem_mark.line + 1, r->parser.problem_mark.column + 1,
	    r->parser.problem != NULL ? r->parser.problem : "parse error");
}

static int
is_int(const char *s, long long *v)
{
	char	*end;
	int	 base = 10;
	const char *p = s;

	if (*p == '-' || *p == '+')
		p++;
	if (*p == '\0')
		return 0;
	if (p[0] == '0' && p[1] == 'x')
		base = 16;
	else if (p[0] == '0' && p[1] == 'o') {
		base = 8;
		p += 2;
	}
	for (const char *q = base == 16 ? p + 2 : p; *q != '\0'; q++)
		if (!(base == 16 ? isxdigit((unsigned char)*q) :
		    (*q >= '0' && *q <= (base == 8 ? '7' : '9'))))
			return 0;
	errno = 0;
	*v = strtoll(base == 8 ? p : s, &end, base);
	if (base == 8 && s[0] == '-')
		*v = -*v;
	return errno == 0 && *end == '\0';
}

static int
is_float(const char *s, double *v)
{
	char	*end;
	const char *p;
	int	 digit = 0;

	if (strcmp(s, ".inf") == 0 || strcmp(s, "+.inf") == 0 || strcmp(s, ".Inf") == 0) {
		*v = INFINITY;
		return 1;
	}
	if (strcmp(s, "-.inf") == 0 || strcmp(s, "-.Inf") == 0) {
		*v = -INFINITY;
		return 1;
	}
	/* YAML 1.2 core: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
	for (p = s; *p != '\0'; p++) {
		if (isdigit((unsigned char)*p))
			digit = 1;
		else if (strchr("+-.eE", *p) == NULL)
			return 0;
	}
	if (!digit)
		return 0;
	errno = 0;
	*v = strtod(s, &end);
	return errno == 0 && *end == '\0' && end != s;
}

/* The value a plain scalar means; a new reference. */
static json_t *
plain_scalar(const char *s)
{
	long long	i;
	double		d;

	if (*s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	    strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
		return json_null();
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		return json_true();
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return json_false();
	if (is_int(s, &i))
		return json_integer(i);
	if (is_float(s, &d) && isfinite(d))
		return json_real(d);
	return json_string(s);
}

static int parse_node(struct reader *, yaml_event_t *, json_t **, int);

static int
next_event(struct reader *r, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&r->parser, ev))
		return parse_error(r);
	return 0;
}

static int
parse_sequence(struct reader *r, json_t *arr, int depth)
{
	yaml_event_t	ev;
	json_t		*v;

	for (;;) {
		if (next_event(r, &ev) == -1)
			return -1;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (parse_node(r, &ev, &v, depth + 1) == -1)
			return -1;
		json_array_append_new(arr, v);
	}
}

static int
parse_mapping(struct reader *r, json_t *obj, int depth)
{
	yaml_event_t	ev;
	json_t		*k, *v;

	for (;;) {
		if (next_event(r, &ev) == -1)
			return -1;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			yaml_event_delete(&ev);
			return errf(r->err, r->errlen,
			    "yaml: line %zu: only scalar mapping keys are supported",
			    ev.start_mark.line + 1);
		}
		if (parse_node(r, &ev, &k, depth + 1) == -1)
			return -1;
		if (next_event(r, &ev) == -1 || parse_node(r, &ev, &v, depth + 1) == -1) {
			json_decref(k);
			return -1;
		}
		if (json_is_string(k))
			json_object_set_new(obj, json_string_value(k), v);
		else {
			char *ks = json_dumps(k, JSON_ENCODE_ANY);

			json_object_set_new(obj, ks != NULL ? ks : "", v);
			free(ks);
		}
		json_decref(k);
	}
}

/* Consumes ev (and the events of its children) into *out. */
static int
parse_node(struct reader *r, yaml_event_t *ev, json_t **out, int depth)
{
	yaml_event_t	e = *ev;
	const unsigned char *anchor = NULL;
	int		 rc = 0;

	*out = NULL;
	if (depth > MAX_DEPTH) {
		yaml_event_delete(&e);
		return errf(r->err, r->errlen, "yaml: nested too deeply");
	}
	switch (e.type) {
	case YAML_ALIAS_EVENT:
		if ((*out = anchor_find(r, e.data.alias.anchor)) == NULL)
			rc = errf(r->err, r->errlen, "yaml: line %zu: unknown alias",
			    e.start_mark.line + 1);
		break;
	case YAML_SCALAR_EVENT:
		if (e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    (e.data.scalar.tag == NULL ||
		    strcmp((char *)e.data.scalar.tag, "tag:yaml.org,2002:str") != 0))
			*out = plain_scalar((const char *)e.data.scalar.value);
		else
			*out = json_stringn((const char *)e.data.scalar.value,
			    e.data.scalar.length);
		if (*out == NULL)
			rc = errf(r->err, r->errlen, "yaml: line %zu: invalid UTF-8",
			    e.start_mark.line + 1);
		anchor = e.data.scalar.anchor;
		break;
	case YAML_SEQUENCE_START_EVENT:
		*out = json_array();
		rc = parse_sequence(r, *out, depth);
		anchor = e.data.sequence_start.anchor;
		break;
	case YAML_MAPPING_START_EVENT:
		*out = json_object();
		rc = parse_mapping(r, *out, depth);
		anchor = e.data.mapping_start.anchor;
		break;
	default:
		rc = errf(r->err, r->errlen, "yaml: line %zu: unexpected event",
		    e.start_mark.line + 1);
		break;
	}
	if (rc == 0)
		anchor_add(r, anchor, *out);
	else {
		json_decref(*out);
		*out = NULL;
	}
	yaml_event_delete(&e);
	return rc;
}

int
kyaml_parse(const char *buf, size_t len, json_t **docs, char *err, size_t errlen)
{
	struct reader	r;
	yaml_event_t	ev;
	json_t		*doc;
	int		 rc = -1;

	memset(&r, 0, sizeof(r));
	r.err = err;
	r.errlen = errlen;
	*docs = json_array();
	if (!yaml_parser_initialize(&r.parser)) {
		errf(err, errlen, "yaml: cannot initialize parser");
		goto out;
	}
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)buf, len);
	for (;;) {
		if (next_event(&r, &ev) == -1)
			goto out;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			yaml_event_delete(&ev);
			rc = 0;
			goto out;
		case YAML_STREAM_START_EVENT:
		case YAML_DOCUMENT_END_EVENT:
			yaml_event_delete(&ev);
			break;
		case YAML_DOCUMENT_START_EVENT:
			yaml_event_delete(&ev);
			anchors_free(&r);
			if (next_event(&r, &ev) == -1)
				goto out;
			if (ev.type == YAML_DOCUMENT_END_EVENT) {
				yaml_event_delete(&ev);
				break;
			}
			if (parse_node(&r, &ev, &doc, 0) == -1)
				goto out;
			if (json_is_null(doc))
				json_decref(doc);
			else
				json_array_append_new(*docs, doc);
			break;
		default:
			yaml_event_delete(&ev);
			errf(err, errlen, "yaml: unexpected event");
			goto out;
		}
	}
out:
	anchors_free(&r);
	yaml_parser_delete(&r.parser);
	if (rc == -1) {
		json_decref(*docs);
		*docs = NULL;
	}
	return rc;
}

/* Writer. */

static int
emit(yaml_emitter_t *em, yaml_event_t *ev, char *err, size_t errlen)
{
	if (!yaml_emitter_emit(em, ev))
		return errf(err, errlen, "yaml: %s",
		    em->problem != NULL ? em->problem : "emitter error");
	return 0;
}

static int
emit_scalar(yaml_emitter_t *em, const char *s, int plain_ok, char *err, size_t errlen)
{
	yaml_event_t		ev;
	yaml_scalar_style_t	style = YAML_ANY_SCALAR_STYLE;

	if (!plain_ok)
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	else if (strchr(s, '\n') != NULL)
		style = YAML_LITERAL_SCALAR_STYLE;
	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s),
	    plain_ok, 1, style);
	return emit(em, &ev, err, errlen);
}

static int
emit_value(yaml_emitter_t *em, json_t *v, char *err, size_t errlen)
{
	yaml_event_t	 ev;
	const char	*key;
	json_t		*item, *typed;
	size_t		 i;
	char		 num[64];
	int		 plain;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
		if (emit(em, &ev, err, errlen) == -1)
			return -1;
		json_object_foreach(v, key, item) {
			typed = plain_scalar(key);
			plain = json_is_string(typed);
			json_decref(typed);
			if (emit_scalar(em, key, plain, err, errlen) == -1 ||
			    emit_value(em, item, err, errlen) == -1)
				return -1;
		}
		yaml_mapping_end_event_initialize(&ev);
		return emit(em, &ev, err, errlen);
	case JSON_ARRAY:
		yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
		    json_array_size(v) == 0 ? YAML_FLOW_SEQUENCE_STYLE :
		    YAML_BLOCK_SEQUENCE_STYLE);
		if (emit(em, &ev, err, errlen) == -1)
			return -1;
		json_array_foreach(v, i, item)
			if (emit_value(em, item, err, errlen) == -1)
				return -1;
		yaml_sequence_end_event_initialize(&ev);
		return emit(em, &ev, err, errlen);
	case JSON_STRING:
		typed = plain_scalar(json_string_value(v));
		plain = json_is_string(typed) && strchr(json_string_value(v), '\n') == NULL;
		json_decref(typed);
		return emit_scalar(em, json_string_value(v), plain, err, errlen);
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return emit_scalar(em, num, 1, err, errlen);
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		return emit_scalar(em, num, 1, err, errlen);
	case JSON_TRUE:
		return emit_scalar(em, "true", 1, err, errlen);
	case JSON_FALSE:
		return emit_scalar(em, "false", 1, err, errlen);
	default:
		return emit_scalar(em, "null", 1, err, errlen);
	}
}

static int
file_handler(void *data, unsigned char *buf, size_t size)
{
	return fwrite(buf, 1, size, data) == size;
}

int
kyaml_emit(json_t *docs, FILE *fp, char *err, size_t errlen)
{
	yaml_emitter_t	em;
	yaml_event_t	ev;
	json_t		*doc;
	size_t		 i;
	int		 rc = -1;

	if (!yaml_emitter_initialize(&em))
		return errf(err, errlen, "yaml: cannot initialize emitter");
	yaml_emitter_set_output(&em, file_handler, fp);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	if (emit(&em, &ev, err, errlen) == -1)
		goto out;
	json_array_foreach(docs, i, doc) {
		yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 0);
		if (emit(&em, &ev, err, errlen) == -1 ||
		    emit_value(&em, doc, err, errlen) == -1)
			goto out;
		yaml_document_end_event_initialize(&ev, 1);
		if (emit(&em, &ev, err, errlen) == -1)
			goto out;
	}
	yaml_stream_end_event_initialize(&ev);
	if (emit(&em, &ev, err, errlen) == -1)
		goto out;
	rc = 0;
out:
	yaml_emitter_delete(&em);
	return rc;
}

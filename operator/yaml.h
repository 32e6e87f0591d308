/*
 * yaml: YAML (libyaml) to and from jansson, for `render`.
 *
 * Reading: every document of a multi-document stream becomes one element of
 * a JSON array.  Plain scalars are typed as YAML 1.2's core schema types
 * them (null, ~, true, false, integers, floats); quoted and block scalars
 * stay strings.  Anchors and aliases are resolved; merge keys are not.
 * JSON is YAML, so a JSON file reads the same way.
 *
 * Writing: the reverse, quoting every string that would otherwise read back
 * as something else.
 */
#ifndef KB_OPERATOR_YAML_H
#define KB_OPERATOR_YAML_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* Parses buf into a new JSON array of documents (empty documents dropped). */
int	 kyaml_parse(const char *buf, size_t len, json_t **docs, char *err, size_t errlen);
/* Writes each element of docs as one YAML document ("---" between). */
int	 kyaml_emit(json_t *docs, FILE *, char *err, size_t errlen);

#endif

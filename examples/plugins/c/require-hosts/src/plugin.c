// A validator in C: a VirtualService must name at least one host, and every
// host must be a non-empty string; `*` is accepted with a warning.
//
// It reads the body (JSON text) with a small scanner that finds the
// top-level `hosts` member and walks its elements; values it does not need
// are skipped whole. Diagnostics are heap-allocated: the generated bindings
// free them after the host has read them.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validator_plugin.h"

typedef validator_plugin_string_t string_t;
typedef exports_galleon_plugin_validator_list_diagnostic_t findings_t;

typedef struct {
  const char *p, *end;
} cursor_t;

static void skip_space(cursor_t *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t')) c->p++;
}

// Skips one JSON value; returns 0 on malformed input.
static int skip_value(cursor_t *c) {
  skip_space(c);
  if (c->p >= c->end) return 0;
  if (*c->p == '"') {
    for (c->p++; c->p < c->end; c->p++) {
      if (*c->p == '\\') c->p++;
      else if (*c->p == '"') { c->p++; return 1; }
    }
    return 0;
  }
  if (*c->p == '{' || *c->p == '[') {
    char close = *c->p == '{' ? '}' : ']';
    c->p++;
    skip_space(c);
    if (c->p < c->end && *c->p == close) { c->p++; return 1; }
    for (;;) {
      if (close == '}') {
        if (!skip_value(c)) return 0;  // the key
        skip_space(c);
        if (c->p >= c->end || *c->p++ != ':') return 0;
      }
      if (!skip_value(c)) return 0;
      skip_space(c);
      if (c->p >= c->end) return 0;
      if (*c->p == ',') { c->p++; continue; }
      if (*c->p++ == close) return 1;
      return 0;
    }
  }
  while (c->p < c->end && strchr(",]}: \n\r\t", *c->p) == NULL) c->p++;
  return 1;
}

static void add(findings_t *found, galleon_plugin_types_severity_t severity,
                const char *field, const char *message) {
  found->ptr = realloc(found->ptr, (found->len + 1) * sizeof *found->ptr);
  galleon_plugin_types_diagnostic_t *d = &found->ptr[found->len++];
  d->severity = severity;
  validator_plugin_string_dup(&d->message, message);
  d->field.is_some = true;
  validator_plugin_string_dup(&d->field.val, field);
}

// Judges the elements of the `hosts` array at the cursor.
static void judge_hosts(cursor_t *c, findings_t *found) {
  const char *start = c->p;
  if (*c->p != '[') {
    cursor_t value = *c;
    skip_value(&value);
    char message[256];
    snprintf(message, sizeof message, "must be a list, found %.*s", (int)(value.p - start), start);
    add(found, GALLEON_PLUGIN_TYPES_SEVERITY_ERROR, "spec.hosts", message);
    return;
  }
  c->p++;
  for (int i = 0;; i++) {
    skip_space(c);
    if (c->p >= c->end || *c->p == ']') {
      if (i == 0)
        add(found, GALLEON_PLUGIN_TYPES_SEVERITY_ERROR, "spec.hosts",
            "a VirtualService needs at least one host");
      return;
    }
    const char *host = c->p;
    if (!skip_value(c)) return;
    char field[32];
    snprintf(field, sizeof field, "spec.hosts[%d]", i);
    size_t len = (size_t)(c->p - host);
    if (*host != '"' || len == 2)
      add(found, GALLEON_PLUGIN_TYPES_SEVERITY_ERROR, field, "a host must be a non-empty string");
    else if (len == 3 && host[1] == '*')
      add(found, GALLEON_PLUGIN_TYPES_SEVERITY_WARNING, field, "`*` matches every host");
    skip_space(c);
    if (c->p < c->end && *c->p == ',') c->p++;
  }
}

bool exports_galleon_plugin_validator_configure(string_t *settings, string_t *err) {
  (void)err;
  validator_plugin_string_free(settings);
  return true;
}

void exports_galleon_plugin_validator_validate(exports_galleon_plugin_validator_resource_t *resource,
                                               findings_t *ret) {
  ret->ptr = NULL;
  ret->len = 0;
  cursor_t c = {(const char *)resource->body.ptr, (const char *)resource->body.ptr + resource->body.len};
  skip_space(&c);
  int seen = 0;
  if (c.p < c.end && *c.p == '{') {
    c.p++;
    while (c.p < c.end && !seen) {
      skip_space(&c);
      const char *key = c.p;
      if (!skip_value(&c)) break;
      int is_hosts = c.p - key == 7 && memcmp(key, "\"hosts\"", 7) == 0;
      skip_space(&c);
      if (c.p >= c.end || *c.p++ != ':') break;
      skip_space(&c);
      if (is_hosts) {
        seen = 1;
        judge_hosts(&c, ret);
      } else if (!skip_value(&c)) {
        break;
      }
      skip_space(&c);
      if (c.p < c.end && *c.p == ',') c.p++;
    }
  }
  if (!seen)
    add(ret, GALLEON_PLUGIN_TYPES_SEVERITY_ERROR, "spec.hosts",
        "a VirtualService needs at least one host");
  galleon_plugin_types_resource_free(resource);
}

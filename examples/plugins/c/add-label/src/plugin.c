// A transformer in C: serves every VirtualService with a label and an
// annotation added. The label's key and value come from the binding's
// settings ({"label": "team", "value": "mesh"}).
//
// Memory: `handle` owns the event it is given; what it returns is freed by
// the generated bindings after the host has read it, so every string in the
// result is heap-allocated (the `_dup` helpers), never a literal.

#include <stdlib.h>
#include <string.h>

#include "transformer_plugin.h"

typedef transformer_plugin_string_t string_t;
typedef transformer_plugin_list_tuple2_string_string_t pairs_t;
typedef exports_galleon_plugin_transformer_event_t event_t;

static const char INPUT[] = "k8s/networking.istio.io/v1alpha3/virtualservices";
static const char OUTPUT[] = "istio/networking/v1alpha3/virtualservices";

// The label added when the settings name none.
static char *label = NULL;
static char *value = NULL;
#define DEFAULT_LABEL "galleon.io/transformed"
#define DEFAULT_VALUE "true"

static void error(string_t *err, const char *message) {
  transformer_plugin_string_dup(err, message);
}

// Finds the string member `key` of the flat JSON object `json` (the
// settings). Returns 0 if absent, 1 with a malloc'd copy in *out, -1 if the
// member is not a non-empty string without escapes.
static int string_member(const string_t *json, const char *key, char **out) {
  size_t key_len = strlen(key);
  const char *text = (const char *)json->ptr, *end = text + json->len;
  for (const char *p = text; p + key_len + 2 <= end; p++) {
    if (*p != '"' || memcmp(p + 1, key, key_len) != 0 || p[key_len + 1] != '"') continue;
    p += key_len + 2;
    while (p < end && (*p == ' ' || *p == ':' || *p == '\n' || *p == '\t')) p++;
    if (p >= end || *p != '"') return -1;
    const char *start = ++p;
    while (p < end && *p != '"' && *p != '\\') p++;
    if (p >= end || *p != '"' || p == start) return -1;
    *out = strndup(start, (size_t)(p - start));
    return 1;
  }
  return 0;
}

// Sets `key` to `val` in a list of pairs, replacing an existing entry.
static void set_pair(pairs_t *pairs, const char *key, const char *val) {
  for (size_t i = 0; i < pairs->len; i++) {
    string_t *k = &pairs->ptr[i].f0;
    if (k->len == strlen(key) && memcmp(k->ptr, key, k->len) == 0) {
      transformer_plugin_string_free(&pairs->ptr[i].f1);
      transformer_plugin_string_dup(&pairs->ptr[i].f1, val);
      return;
    }
  }
  pairs->ptr = realloc(pairs->ptr, (pairs->len + 1) * sizeof *pairs->ptr);
  transformer_plugin_string_dup(&pairs->ptr[pairs->len].f0, key);
  transformer_plugin_string_dup(&pairs->ptr[pairs->len].f1, val);
  pairs->len++;
}

static void retarget(string_t *collection) {
  transformer_plugin_string_free(collection);
  transformer_plugin_string_dup(collection, OUTPUT);
}

void exports_galleon_plugin_transformer_describe(
    exports_galleon_plugin_transformer_description_t *ret) {
  ret->inputs.len = 1;
  ret->inputs.ptr = malloc(sizeof(string_t));
  transformer_plugin_string_dup(&ret->inputs.ptr[0], INPUT);
  ret->outputs.len = 1;
  ret->outputs.ptr = malloc(sizeof(string_t));
  transformer_plugin_string_dup(&ret->outputs.ptr[0], OUTPUT);
  transformer_plugin_string_dup(&ret->summary,
                                "adds a label and an annotation to every VirtualService");
}

bool exports_galleon_plugin_transformer_configure(
    string_t *settings, exports_galleon_plugin_transformer_mesh_t *mesh, string_t *err) {
  free(label);
  free(value);
  label = strdup(DEFAULT_LABEL);
  value = strdup(DEFAULT_VALUE);
  bool ok = true;
  char *found = NULL;
  int got = string_member(settings, "label", &found);
  if (got > 0) { free(label); label = found; }
  if (got < 0) { error(err, "settings.label must be a non-empty string"); ok = false; }
  if (ok) {
    got = string_member(settings, "value", &found);
    if (got > 0) { free(value); value = found; }
    if (got < 0) { error(err, "settings.value must be a non-empty string"); ok = false; }
  }
  transformer_plugin_string_free(settings);
  exports_galleon_plugin_transformer_mesh_free(mesh);
  return ok;
}

bool exports_galleon_plugin_transformer_handle(
    event_t *event, exports_galleon_plugin_transformer_list_event_t *ret, string_t *err) {
  (void)err;
  event_t *out = malloc(sizeof *out);
  *out = *event;  // takes over everything the event owns
  switch (event->tag) {
    case GALLEON_PLUGIN_TYPES_EVENT_ADDED:
    case GALLEON_PLUGIN_TYPES_EVENT_UPDATED: {
      galleon_plugin_types_resource_t r =
          event->tag == GALLEON_PLUGIN_TYPES_EVENT_ADDED ? event->val.added : event->val.updated;
      out->tag = GALLEON_PLUGIN_TYPES_EVENT_UPDATED;
      out->val.updated = r;
      retarget(&out->val.updated.collection);
      set_pair(&out->val.updated.labels, label, value);
      set_pair(&out->val.updated.annotations, "galleon.io/transformed-by", "add-label");
      break;
    }
    case GALLEON_PLUGIN_TYPES_EVENT_DELETED:
      retarget(&out->val.deleted.collection);
      break;
    case GALLEON_PLUGIN_TYPES_EVENT_FULL_SYNC:
      retarget(&out->val.full_sync);
      break;
    default:
      break;
  }
  ret->ptr = out;
  ret->len = 1;
  return true;
}

// An analyzer in C: reports every Gateway that no VirtualService is bound to
// (its `spec.gateways` names it, as `name` in the VirtualService's own
// namespace or as `namespace/name`; `mesh` is not a Gateway).
//
// It keeps the Gateways' names and each VirtualService's bound Gateways in
// small string lists, reads `spec.gateways` from the body (JSON text) with a
// scanner that skips every other value whole, and after each batch reports
// only the Gateways whose verdict changed. What it returns is heap-allocated:
// the generated bindings free it after the host has read it.

#include <stdlib.h>
#include <string.h>

#include "analyzer_plugin.h"

typedef analyzer_plugin_string_t string_t;

static const char *GATEWAYS = "k8s/networking.istio.io/v1alpha3/gateways";
static const char *VIRTUAL_SERVICES = "k8s/networking.istio.io/v1alpha3/virtualservices";
static const char *ANALYZER = "example.UnusedGatewayAnalyzer";

// A list of owned, NUL-terminated strings.
typedef struct {
  char **items;
  size_t len;
} names_t;

static int names_find(const names_t *names, const char *name) {
  for (size_t i = 0; i < names->len; i++)
    if (strcmp(names->items[i], name) == 0) return (int)i;
  return -1;
}

static void names_add(names_t *names, const char *name) {
  if (names_find(names, name) >= 0) return;
  names->items = realloc(names->items, (names->len + 1) * sizeof *names->items);
  names->items[names->len++] = strdup(name);
}

static void names_remove(names_t *names, const char *name) {
  int i = names_find(names, name);
  if (i < 0) return;
  free(names->items[i]);
  names->items[i] = names->items[--names->len];
}

static void names_clear(names_t *names) {
  for (size_t i = 0; i < names->len; i++) free(names->items[i]);
  free(names->items);
  names->items = NULL;
  names->len = 0;
}

// One VirtualService and the Gateways it is bound to.
typedef struct {
  char *name;
  names_t gateways;
} binding_t;

static names_t gateways;
static binding_t *bindings;
static size_t bindings_len;
// The Gateways last reported as unused.
static names_t reported;

static void remove_binding(const char *name) {
  for (size_t i = 0; i < bindings_len; i++) {
    if (strcmp(bindings[i].name, name) != 0) continue;
    free(bindings[i].name);
    names_clear(&bindings[i].gateways);
    bindings[i] = bindings[--bindings_len];
    return;
  }
}

static char *text(const string_t *s) {
  char *out = malloc(s->len + 1);
  memcpy(out, s->ptr, s->len);
  out[s->len] = '\0';
  return out;
}

typedef struct {
  const char *p, *end;
} cursor_t;

static void skip_space(cursor_t *c) {
  while (c->p < c->end && strchr(" \n\r\t", *c->p) != NULL) c->p++;
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

// Adds the Gateways of the `gateways` array at the cursor to `out`, each as
// `namespace/name`.
static void read_gateways(cursor_t *c, const char *namespace, names_t *out) {
  if (*c->p != '[') return;
  c->p++;
  for (;;) {
    skip_space(c);
    if (c->p >= c->end || *c->p == ']') return;
    const char *start = c->p;
    if (!skip_value(c)) return;
    size_t len = (size_t)(c->p - start);
    if (*start == '"' && len > 2 && !(len == 6 && memcmp(start, "\"mesh\"", 6) == 0)) {
      const char *name = start + 1;
      size_t name_len = len - 2;
      size_t ns_len = memchr(name, '/', name_len) ? 0 : strlen(namespace) + 1;
      char *full = malloc(ns_len + name_len + 1);
      if (ns_len) {
        memcpy(full, namespace, ns_len - 1);
        full[ns_len - 1] = '/';
      }
      memcpy(full + ns_len, name, name_len);
      full[ns_len + name_len] = '\0';
      names_add(out, full);
      free(full);
    }
    skip_space(c);
    if (c->p < c->end && *c->p == ',') c->p++;
  }
}

// The Gateways a VirtualService called `name` with `body` is bound to.
static names_t bound_gateways(const char *name, const string_t *body) {
  names_t out = {0};
  char *namespace = strdup(name);
  char *slash = strchr(namespace, '/');
  if (slash) *slash = '\0';
  cursor_t c = {(const char *)body->ptr, (const char *)body->ptr + body->len};
  skip_space(&c);
  if (c.p < c.end && *c.p == '{') {
    c.p++;
    while (c.p < c.end) {
      skip_space(&c);
      const char *key = c.p;
      if (!skip_value(&c)) break;
      int is_gateways = c.p - key == 10 && memcmp(key, "\"gateways\"", 10) == 0;
      skip_space(&c);
      if (c.p >= c.end || *c.p++ != ':') break;
      skip_space(&c);
      if (is_gateways) {
        read_gateways(&c, namespace, &out);
        break;
      }
      if (!skip_value(&c)) break;
      skip_space(&c);
      if (c.p < c.end && *c.p == ',') c.p++;
    }
  }
  free(namespace);
  return out;
}

static int is_used(const char *gateway) {
  for (size_t i = 0; i < bindings_len; i++)
    if (names_find(&bindings[i].gateways, gateway) >= 0) return 1;
  return 0;
}

static void apply(const exports_galleon_plugin_analyzer_event_t *event) {
  switch (event->tag) {
    case GALLEON_PLUGIN_TYPES_EVENT_ADDED:
    case GALLEON_PLUGIN_TYPES_EVENT_UPDATED: {
      const galleon_plugin_types_resource_t *r =
          event->tag == GALLEON_PLUGIN_TYPES_EVENT_ADDED ? &event->val.added : &event->val.updated;
      char *collection = text(&r->collection);
      char *name = text(&r->name);
      if (strcmp(collection, GATEWAYS) == 0) {
        names_add(&gateways, name);
      } else {
        remove_binding(name);
        bindings = realloc(bindings, (bindings_len + 1) * sizeof *bindings);
        bindings[bindings_len].gateways = bound_gateways(name, &r->body);
        bindings[bindings_len++].name = strdup(name);
      }
      free(collection);
      free(name);
      break;
    }
    case GALLEON_PLUGIN_TYPES_EVENT_DELETED: {
      char *collection = text(&event->val.deleted.collection);
      char *name = text(&event->val.deleted.name);
      if (strcmp(collection, GATEWAYS) == 0) names_remove(&gateways, name);
      else remove_binding(name);
      free(collection);
      free(name);
      break;
    }
    case GALLEON_PLUGIN_TYPES_EVENT_RESET:
      names_clear(&gateways);
      names_clear(&reported);
      while (bindings_len) remove_binding(bindings[0].name);
      break;
    default:
      break;
  }
}

// Appends the report on `gateway`: one message when `unused`, else none.
static void add_report(exports_galleon_plugin_analyzer_list_report_t *ret, const char *gateway,
                       int unused) {
  ret->ptr = realloc(ret->ptr, (ret->len + 1) * sizeof *ret->ptr);
  galleon_plugin_types_report_t *report = &ret->ptr[ret->len++];
  memset(report, 0, sizeof *report);
  analyzer_plugin_string_dup(&report->subject.collection, GATEWAYS);
  analyzer_plugin_string_dup(&report->subject.name, gateway);
  if (!unused) return;
  galleon_plugin_types_message_t *m = calloc(1, sizeof *m);
  analyzer_plugin_string_dup(&m->analyzer, ANALYZER);
  analyzer_plugin_string_dup(&m->code, "EX0001");
  analyzer_plugin_string_dup(&m->name, "UnusedGateway");
  m->severity = GALLEON_PLUGIN_TYPES_SEVERITY_WARNING;
  m->field.is_some = false;
  size_t size = strlen(gateway) + 48;
  char *words = malloc(size);
  strcpy(words, "No VirtualService is bound to Gateway \"");
  strcat(words, gateway);
  strcat(words, "\"");
  analyzer_plugin_string_dup(&m->text, words);
  free(words);
  report->messages.ptr = m;
  report->messages.len = 1;
}

static void dup_inputs(analyzer_plugin_list_string_t *list) {
  list->ptr = malloc(2 * sizeof *list->ptr);
  list->len = 2;
  analyzer_plugin_string_dup(&list->ptr[0], GATEWAYS);
  analyzer_plugin_string_dup(&list->ptr[1], VIRTUAL_SERVICES);
}

void exports_galleon_plugin_analyzer_describe(exports_galleon_plugin_analyzer_analyzers_t *ret) {
  dup_inputs(&ret->inputs);
  ret->analyzers.ptr = calloc(1, sizeof *ret->analyzers.ptr);
  ret->analyzers.len = 1;
  galleon_plugin_types_analyzer_info_t *info = &ret->analyzers.ptr[0];
  analyzer_plugin_string_dup(&info->name, ANALYZER);
  analyzer_plugin_string_dup(&info->description, "Reports Gateways no VirtualService is bound to");
  dup_inputs(&info->inputs);
  analyzer_plugin_string_dup(&ret->summary, "finds Gateways nothing routes through");
}

bool exports_galleon_plugin_analyzer_configure(
    string_t *settings, exports_galleon_plugin_analyzer_mesh_t *mesh, string_t *err) {
  (void)err;
  analyzer_plugin_string_free(settings);
  exports_galleon_plugin_analyzer_mesh_free(mesh);
  return true;
}

bool exports_galleon_plugin_analyzer_handle_batch(
    exports_galleon_plugin_analyzer_list_event_t *events,
    exports_galleon_plugin_analyzer_list_report_t *ret, string_t *err) {
  (void)err;
  for (size_t i = 0; i < events->len; i++) apply(&events->ptr[i]);
  exports_galleon_plugin_analyzer_list_event_free(events);
  ret->ptr = NULL;
  ret->len = 0;
  names_t now = {0};
  for (size_t i = 0; i < gateways.len; i++)
    if (!is_used(gateways.items[i])) names_add(&now, gateways.items[i]);
  for (size_t i = 0; i < now.len; i++)
    if (names_find(&reported, now.items[i]) < 0) add_report(ret, now.items[i], 1);
  for (size_t i = 0; i < reported.len; i++)
    if (names_find(&now, reported.items[i]) < 0) add_report(ret, reported.items[i], 0);
  names_clear(&reported);
  reported = now;
  return true;
}

// A transformer in JavaScript: serves every VirtualService with a label and
// an annotation added. The label's key and value come from the binding's
// settings ({"label": "team", "value": "mesh"}).
//
// The WIT interface `transformer` is this module's export of that name;
// variants are `{ tag, val }`, records are objects with camelCase fields,
// `list<tuple<string, string>>` is an array of pairs, and a thrown string is
// the `err` of a `result`.

import { log } from 'galleon:plugin/host';

const INPUT = 'k8s/networking.istio.io/v1alpha3/virtualservices';
const OUTPUT = 'istio/networking/v1alpha3/virtualservices';

// The label added when the settings name none.
const DEFAULT_LABEL = 'galleon.io/transformed';
const DEFAULT_VALUE = 'true';

let label = DEFAULT_LABEL;
let value = DEFAULT_VALUE;

/** Sets `key` to `val` in a list of pairs, replacing an existing entry. */
function setPair(pairs, key, val) {
  return pairs.filter(([k]) => k !== key).concat([[key, val]]);
}

/** A setting that must be a non-empty string, or `fallback` when absent. */
function stringSetting(settings, field, fallback) {
  const given = settings[field];
  if (given === undefined) return fallback;
  if (typeof given !== 'string' || given === '') {
    throw `settings.${field} must be a non-empty string, got ${JSON.stringify(given)}`;
  }
  return given;
}

export const transformer = {
  describe() {
    return {
      inputs: [INPUT],
      outputs: [OUTPUT],
      summary: 'adds a label and an annotation to every VirtualService',
    };
  },

  configure(settings, _mesh) {
    const parsed = JSON.parse(settings);
    label = stringSetting(parsed, 'label', DEFAULT_LABEL);
    value = stringSetting(parsed, 'value', DEFAULT_VALUE);
    log('debug', `labelling with ${label}=${value}`);
  },

  handle(event) {
    switch (event.tag) {
      case 'added':
      case 'updated': {
        const resource = event.val;
        resource.collection = OUTPUT;
        resource.labels = setPair(resource.labels, label, value);
        resource.annotations = setPair(resource.annotations, 'galleon.io/transformed-by', 'add-label');
        return [{ tag: 'updated', val: resource }];
      }
      case 'deleted':
        return [{ tag: 'deleted', val: { collection: OUTPUT, name: event.val.name } }];
      case 'full-sync':
        return [{ tag: 'full-sync', val: OUTPUT }];
      default:
        return [event];
    }
  },
};

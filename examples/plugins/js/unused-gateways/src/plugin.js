// An analyzer in JavaScript: reports every Gateway that no VirtualService is
// bound to (its `spec.gateways` names it, as `name` in the VirtualService's
// own namespace or as `namespace/name`; `mesh` is not a Gateway).
//
// After each batch it reports only the Gateways whose verdict changed: a
// message for one that became unused, an empty report (clearing it) for one
// that is used again or went away. Variants are `{ tag, val }`, records are
// objects with camelCase fields, an absent `option` is `undefined`.

const GATEWAYS = 'k8s/networking.istio.io/v1alpha3/gateways';
const VIRTUAL_SERVICES = 'k8s/networking.istio.io/v1alpha3/virtualservices';
const ANALYZER = 'example.UnusedGatewayAnalyzer';

let gateways = new Set();
// VirtualService name -> the `namespace/name` of each Gateway it is bound to.
let bindings = new Map();
// The Gateways last reported as unused.
let reported = new Set();

/** The Gateways a VirtualService in `namespace` with `body` is bound to. */
function boundGateways(namespace, body) {
  if (!Array.isArray(body.gateways)) return [];
  return body.gateways
    .filter((name) => typeof name === 'string' && name !== 'mesh')
    .map((name) => (name.includes('/') ? name : `${namespace}/${name}`));
}

function apply(event) {
  switch (event.tag) {
    case 'added':
    case 'updated': {
      const { collection, name, body } = event.val;
      if (collection === GATEWAYS) gateways.add(name);
      else bindings.set(name, boundGateways(name.split('/')[0], JSON.parse(body)));
      break;
    }
    case 'deleted':
      if (event.val.collection === GATEWAYS) gateways.delete(event.val.name);
      else bindings.delete(event.val.name);
      break;
    case 'reset':
      gateways = new Set();
      bindings = new Map();
      reported = new Set();
      break;
    default:
      break;
  }
}

function unused(gateway) {
  return {
    analyzer: ANALYZER,
    code: 'EX0001',
    name: 'UnusedGateway',
    severity: 'warning',
    field: undefined,
    text: `No VirtualService is bound to Gateway ${JSON.stringify(gateway)}`,
    references: [],
  };
}

const report = (gateway, messages) => ({ subject: { collection: GATEWAYS, name: gateway }, messages });

export const analyzer = {
  describe() {
    const inputs = [GATEWAYS, VIRTUAL_SERVICES];
    return {
      inputs,
      analyzers: [{ name: ANALYZER, description: 'Reports Gateways no VirtualService is bound to', inputs }],
      summary: 'finds Gateways nothing routes through',
    };
  },

  configure(_settings, _mesh) {},

  handleBatch(events) {
    events.forEach(apply);
    const used = new Set([...bindings.values()].flat());
    const now = new Set([...gateways].filter((gateway) => !used.has(gateway)));
    const sorted = (set) => [...set].sort();
    const reports = [
      ...sorted(now).filter((g) => !reported.has(g)).map((g) => report(g, [unused(g)])),
      ...sorted(reported).filter((g) => !now.has(g)).map((g) => report(g, [])),
    ];
    reported = now;
    return reports;
  },
};

// Misbehaves on purpose: see ../galleon-plugin.yaml. In mode `warn` it
// only logs a warning about the trigger.

import { log } from 'galleon:plugin/host';

const INPUT = 'k8s/networking.istio.io/v1alpha3/virtualservices';
const OUTPUT = 'istio/networking/v1alpha3/virtualservices';

let mode = '';

function misbehave(name) {
  if (mode === 'warn') {
    log('warn', `suspicious resource ${name}`);
    return;
  }
  if (mode === 'loop') {
    for (;;) {}
  }
  if (mode === 'memory') {
    const hoard = [];
    for (;;) hoard.push(new Uint8Array(1 << 20).fill(1));
  }
  throw `unknown mode ${mode}`;
}

export const transformer = {
  describe() {
    return { inputs: [INPUT], outputs: [OUTPUT], summary: 'misbehaves on purpose' };
  },
  configure(settings, _mesh) {
    mode = JSON.parse(settings).mode ?? '';
  },
  handle(event) {
    switch (event.tag) {
      case 'added':
      case 'updated':
        if (event.val.name.endsWith('trigger')) misbehave(event.val.name);
        return [{ tag: 'updated', val: { ...event.val, collection: OUTPUT } }];
      case 'deleted':
        return [{ tag: 'deleted', val: { collection: OUTPUT, name: event.val.name } }];
      default:
        return [];
    }
  },
};

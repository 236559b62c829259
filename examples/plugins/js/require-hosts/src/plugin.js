// A validator in JavaScript: a VirtualService must name at least one host,
// and every host must be a non-empty string; `*` is accepted with a warning.

const finding = (severity, field, message) => ({ severity, field, message });

export const validator = {
  configure(_settings) {},

  validate(resource) {
    const hosts = JSON.parse(resource.body).hosts;
    if (hosts === undefined || (Array.isArray(hosts) && hosts.length === 0)) {
      return [finding('error', 'spec.hosts', 'a VirtualService needs at least one host')];
    }
    if (!Array.isArray(hosts)) {
      return [finding('error', 'spec.hosts', `must be a list, found ${JSON.stringify(hosts)}`)];
    }
    return hosts.flatMap((host, i) => {
      const field = `spec.hosts[${i}]`;
      if (typeof host !== 'string' || host === '') {
        return [finding('error', field, 'a host must be a non-empty string')];
      }
      if (host === '*') return [finding('warning', field, '`*` matches every host')];
      return [];
    });
  },
};

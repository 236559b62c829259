"""A validator in Python: a VirtualService must name at least one host, and
every host must be a non-empty string; `*` is accepted with a warning."""

import json

from wit_world import exports
from wit_world.imports.types import Diagnostic, Severity


def finding(severity, field, message):
    return Diagnostic(severity=severity, message=message, field=field)


class Validator(exports.Validator):
    def configure(self, settings):
        pass

    def validate(self, resource):
        body = json.loads(resource.body)
        hosts = body.get("hosts")
        if "hosts" not in body or hosts == []:
            return [finding(Severity.ERROR, "spec.hosts", "a VirtualService needs at least one host")]
        if not isinstance(hosts, list):
            return [finding(Severity.ERROR, "spec.hosts", f"must be a list, found {json.dumps(hosts)}")]
        found = []
        for i, host in enumerate(hosts):
            field = f"spec.hosts[{i}]"
            if not isinstance(host, str) or host == "":
                found.append(finding(Severity.ERROR, field, "a host must be a non-empty string"))
            elif host == "*":
                found.append(finding(Severity.WARNING, field, "`*` matches every host"))
        return found

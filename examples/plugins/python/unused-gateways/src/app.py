"""An analyzer in Python: reports every Gateway that no VirtualService is bound
to (its `spec.gateways` names it, as `name` in the VirtualService's own
namespace or as `namespace/name`; `mesh` is not a Gateway).

After each batch it reports only the Gateways whose verdict changed: a message
for one that became unused, an empty report (clearing it) for one that is used
again or went away.
"""

import json

from wit_world import exports
from wit_world.imports.types import (
    AnalyzerInfo,
    Analyzers,
    Event_Added,
    Event_Deleted,
    Event_Reset,
    Event_Updated,
    Message,
    Report,
    ResourceRef,
    Severity,
)

GATEWAYS = "k8s/networking.istio.io/v1alpha3/gateways"
VIRTUAL_SERVICES = "k8s/networking.istio.io/v1alpha3/virtualservices"
ANALYZER = "example.UnusedGatewayAnalyzer"

# The state, kept at module level: componentize-py may make a new `Analyzer`
# object for each call.
gateways = set()
# VirtualService name -> the `namespace/name` of each Gateway it is bound to.
bindings = {}
# The Gateways last reported as unused.
reported = set()


def bound_gateways(namespace, body):
    """The Gateways a VirtualService in `namespace` with `body` is bound to."""
    names = body.get("gateways")
    if not isinstance(names, list):
        return []
    return [
        name if "/" in name else f"{namespace}/{name}"
        for name in names
        if isinstance(name, str) and name != "mesh"
    ]


def apply(event):
    global reported
    if isinstance(event, (Event_Added, Event_Updated)):
        resource = event.value
        if resource.collection == GATEWAYS:
            gateways.add(resource.name)
        else:
            namespace = resource.name.split("/")[0]
            bindings[resource.name] = bound_gateways(namespace, json.loads(resource.body))
    elif isinstance(event, Event_Deleted):
        if event.value.collection == GATEWAYS:
            gateways.discard(event.value.name)
        else:
            bindings.pop(event.value.name, None)
    elif isinstance(event, Event_Reset):
        gateways.clear()
        bindings.clear()
        reported = set()


def unused(gateway):
    return Message(
        analyzer=ANALYZER,
        code="EX0001",
        name="UnusedGateway",
        severity=Severity.WARNING,
        field=None,
        text=f"No VirtualService is bound to Gateway {json.dumps(gateway)}",
        references=[],
    )


def report(gateway, messages):
    return Report(subject=ResourceRef(collection=GATEWAYS, name=gateway), messages=messages)


class Analyzer(exports.Analyzer):
    def describe(self):
        inputs = [GATEWAYS, VIRTUAL_SERVICES]
        return Analyzers(
            inputs=inputs,
            analyzers=[
                AnalyzerInfo(
                    name=ANALYZER,
                    description="Reports Gateways no VirtualService is bound to",
                    inputs=inputs,
                )
            ],
            summary="finds Gateways nothing routes through",
        )

    def configure(self, settings, mesh):
        pass

    def handle_batch(self, events):
        global reported
        for event in events:
            apply(event)
        used = {gateway for bound in bindings.values() for gateway in bound}
        now = {gateway for gateway in gateways if gateway not in used}
        reports = [report(g, [unused(g)]) for g in sorted(now - reported)]
        reports += [report(g, []) for g in sorted(reported - now)]
        reported = now
        return reports

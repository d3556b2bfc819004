"""Demo data for ``fmar init --demo``: organisations, users, a platform client and a delegation.

The records come from ``data/demo/demo.json`` and are registered through the services, so
they pass the same policy, validation and audit as any other write. Seeding is skipped when
the store already holds organisations, so ``fmar init`` can be run again safely.
"""

from __future__ import annotations

import json
from typing import Any

from fmar.access.principal import SYSTEM
from fmar.registry import Registry

_ANY_ORGANISATION = "ASK { ?o a <https://w3id.org/fmar#Organisation> }"


def seed(registry: Registry) -> dict[str, Any] | None:
    """Register the demo records; returns their IDs (and the demo client's secret), or None if skipped."""
    if registry.store.ask(_ANY_ORGANISATION):
        return None
    spec = json.loads(registry.settings.resource("data", "demo", "demo.json").read_text(encoding="utf-8"))
    ids: dict[str, str] = {}
    for key, body in spec["organisations"].items():
        org, _ = registry.organisations.create(SYSTEM, body)
        ids[key] = registry.iris.identifier(org)
    users = []
    for entry in spec["users"]:
        user, _ = registry.users.create(SYSTEM, ids[entry["organisation"]], entry["body"])
        users.append({"organisation": entry["organisation"], "id": registry.iris.identifier(user),
                      "email": entry["body"]["email"], "roles": entry["body"]["roles"]})
    clients = []
    for entry in spec["clients"]:
        _, client_id, secret = registry.platforms.create_client(SYSTEM, ids[entry["organisation"]], entry["name"])
        clients.append({"organisation": entry["organisation"], "client_id": client_id, "client_secret": secret})
    delegations = []
    for entry in spec["delegations"]:
        body = {**entry["body"], "platform": ids[entry["body"]["platform"]]}
        delegation, _ = registry.platforms.create_delegation(SYSTEM, ids[entry["organisation"]], body)
        delegations.append({"organisation": entry["organisation"], "id": registry.iris.identifier(delegation)})
    assets = spec.get("assets", {})
    created = 0
    if assets:
        from fmar.arm.bulk import summary
        from fmar.arm.generator import generate

        rows = ((n, body, None) for n, body in enumerate(generate(int(assets["count"]), ids[assets["organisation"]],
                                                                  seed=int(assets.get("seed", 1)))))
        created = summary(registry.bulk.run(SYSTEM, rows))["created"]
    return {"organisations": ids, "users": users, "clients": clients, "delegations": delegations, "assets": created}

"""Demo data for ``fmar init --demo``: organisations, users, a platform client and a delegation.

The records come from ``data/demo/demo.json`` and are registered through the services, so
they pass the same policy, validation and audit as any other write. Seeding is skipped when
the store already holds organisations, so ``fmar init`` can be run again safely.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fmar.access.principal import SYSTEM
from fmar.arm.bulk import summary
from fmar.arm.generator import generate
from fmar.arm.registration import Registrations
from fmar.iris import Iris
from fmar.spum.organisations import Organisations
from fmar.spum.platforms import Platforms
from fmar.spum.users import Users


def seed(spec_path: Path, iris: Iris, organisations: Organisations, users: Users, platforms: Platforms,
         registrations: Registrations) -> dict[str, Any] | None:
    """Register the demo records; returns their IDs (and the demo client's secret), or None if skipped."""
    if organisations.any_registered():
        return None
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    ids: dict[str, str] = {}
    for key, body in spec["organisations"].items():
        org, _ = organisations.create(SYSTEM, body)
        ids[key] = iris.identifier(org)
    people = []
    for entry in spec["users"]:
        user, _ = users.create(SYSTEM, ids[entry["organisation"]], entry["body"])
        people.append({"organisation": entry["organisation"], "id": iris.identifier(user),
                       "email": entry["body"]["email"], "roles": entry["body"]["roles"]})
    clients = []
    for entry in spec["clients"]:
        _, client_id, secret = platforms.create_client(SYSTEM, ids[entry["organisation"]], entry["name"])
        clients.append({"organisation": entry["organisation"], "client_id": client_id, "client_secret": secret})
    delegations = []
    for entry in spec["delegations"]:
        body = {**entry["body"], "platform": ids[entry["body"]["platform"]]}
        delegation, _ = platforms.create_delegation(SYSTEM, ids[entry["organisation"]], body)
        delegations.append({"organisation": entry["organisation"], "id": iris.identifier(delegation)})
    assets = spec.get("assets", {})
    created = 0
    if assets:
        rows = ((n, body, None) for n, body in enumerate(generate(int(assets["count"]), ids[assets["organisation"]],
                                                                  seed=int(assets.get("seed", 1)))))
        created = summary(registrations.run(SYSTEM, rows))["created"]
    return {"organisations": ids, "users": people, "clients": clients, "delegations": delegations, "assets": created}

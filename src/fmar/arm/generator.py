"""Realistic synthetic GB assets, for demo data and benchmarks.

Categories, capacities and makers follow the domestic flexibility fleet (EV chargers, heat
pumps, solar PV and home batteries first); MPANs carry valid check digits and are spread over
the 14 DNO licence areas, each with its own distributor id, GSP group and postcode districts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from fmar.validation.rules import MPAN_WEIGHTS

#: (DNO code, MPAN distributor id, postcode districts of the area)
AREAS = [
    ("UKPN_EPN", "10", ["CB1", "IP4", "NR2", "CO3"]), ("NGED_EMID", "11", ["NG7", "LE1", "DE22", "LN2"]),
    ("UKPN_LPN", "12", ["E14", "SW1A", "N1", "SE1"]), ("SPEN_SPM", "13", ["L1", "CH2", "LL11", "WA1"]),
    ("NGED_WMID", "14", ["B1", "CV1", "WV1", "WR1"]), ("NPG_NE", "15", ["NE1", "SR1", "DH1", "TS1"]),
    ("ENWL", "16", ["M1", "PR1", "BB1", "LA1"]), ("SSEN_SHEPD", "17", ["AB10", "IV1", "PH1", "KW1"]),
    ("SPEN_SPD", "18", ["EH1", "G1", "KA1", "DG1"]), ("UKPN_SPN", "19", ["BN1", "CT1", "ME1", "RH1"]),
    ("SSEN_SEPD", "20", ["OX1", "RG1", "SO14", "GU1"]), ("NGED_WALES", "21", ["CF10", "SA1", "NP20", "LD1"]),
    ("NGED_SWEST", "22", ["EX1", "PL1", "TR1", "TA1"]), ("NPG_YK", "23", ["LS1", "S1", "HU1", "YO1"]),
]
#: category: (share, kW range, makers, extra terms)
CATEGORIES: dict[str, tuple[float, tuple[float, float], list[str]]] = {
    "EV_CHARGER": (0.35, (3.6, 22), ["Zappi", "Ohme", "Pod Point", "Wallbox", "Easee"]),
    "HEAT_PUMP": (0.25, (4, 16), ["Vaillant", "Mitsubishi", "Daikin", "Samsung", "Octopus"]),
    "SOLAR_PV": (0.20, (2, 8), ["SolarEdge", "Enphase", "GivEnergy", "Fronius"]),
    "BESS": (0.15, (3, 13.5), ["Tesla", "GivEnergy", "SolaX", "Huawei", "Sonnen"]),
    "ELECTRIC_BOILER": (0.02, (6, 24), ["Heatrae", "Elnur"]),
    "HVAC": (0.015, (10, 250), ["Daikin", "Carrier"]),
    "REFRIGERATION": (0.01, (20, 400), ["Carrier", "Danfoss"]),
    "INDUSTRIAL_LOAD": (0.005, (200, 5000), ["Siemens", "ABB"]),
}
DEMAND_TECH = {"EV_CHARGER": "EV", "HEAT_PUMP": "HEAT_PUMP", "ELECTRIC_BOILER": "ELECTRIC_BOILER", "HVAC": "HVAC",
               "REFRIGERATION": "REFRIGERATION", "INDUSTRIAL_LOAD": "INDUSTRIAL_LOAD"}


def mpan(first_twelve: str) -> str:
    """An MPAN core: twelve digits and their check digit."""
    total = sum(int(d) * w for d, w in zip(first_twelve, MPAN_WEIGHTS, strict=True))
    return first_twelve + str(total % 11 % 10)


def generate(count: int, operated_by: str | None = None, seed: int = 1, start: int = 0) -> Iterator[dict[str, Any]]:
    """``count`` asset submissions (plain JSON, data dictionary terms), the same for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible by seed
    names = list(CATEGORIES)
    weights = [CATEGORIES[c][0] for c in names]
    today = date.today()
    for n in range(start, start + count):
        category = rng.choices(names, weights)[0]
        _, (low, high), makers = CATEGORIES[category]
        dno, distributor, districts = AREAS[n % len(AREAS)]
        rated = round(rng.uniform(low, high), 1)
        meter = mpan(f"{distributor}{(seed * 7919 + n) % 10**10:010d}")
        body: dict[str, Any] = {
            "assetName": f"{category.replace('_', ' ').title()} {n}",
            "friendlyCode": f"A-{seed}-{n}",
            "assetCategory": category, "ratedCapacity": rated,
            "manufacturer": rng.choice(makers), "assetModel": f"M{rng.randint(1, 9)}",
            "serialNumber": f"SN{seed}X{n:09d}", "dno": dno,
            "postcode": f"{rng.choice(districts)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
                        f"{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}",
            "connectionStatus": "CONNECTED", "connectionType": rng.choice(["FIRM", "FIRM", "FIRM", "NON_FIRM"]),
            "commissioningDate": (today - timedelta(days=rng.randint(30, 5 * 365))).isoformat(),
            "effectiveDate": today.isoformat(),
            "ownerType": "DOMESTIC" if rated <= 30 else "NON_DOMESTIC",
        }
        if category == "SOLAR_PV":
            body.update(exportMPAN=meter, energySource="SOLAR", generationCapacity=rated)
        elif category == "BESS":
            body.update(importMPAN=meter, storageCapacity=round(rated * rng.uniform(1.5, 3), 1))
        else:
            body.update(importMPAN=meter, demandTechType=DEMAND_TECH[category], demandCapacity=rated)
        if operated_by is not None:
            body["operatedBy"] = operated_by
        yield body

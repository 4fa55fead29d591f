"""The simulated retailer: a catalogue, customers with personas, and their Segment events.

Pure and deterministic for a seed; :mod:`juncture.sim.http` (not imported here) sends the
messages to a live server.
"""

from juncture.sim.catalog import Catalog, Category, Location, Product, build_catalog
from juncture.sim.personas import Customer, Device, build_customers
from juncture.sim.response import Delivery
from juncture.sim.simulation import SEND_STEP, SimConfig, Simulation
from juncture.sim.truth import Abandonment, CustomerTruth, GroundTruth, Purchase

__all__ = [
    "SEND_STEP",
    "Abandonment",
    "Catalog",
    "Category",
    "Customer",
    "CustomerTruth",
    "Delivery",
    "Device",
    "GroundTruth",
    "Location",
    "Product",
    "Purchase",
    "SimConfig",
    "Simulation",
    "build_catalog",
    "build_customers",
]

from symbiosis.models.accounts import Membership, Organization, Site, User
from symbiosis.models.factors import EmissionFactor, FactorSet
from symbiosis.models.imports import ListingImport
from symbiosis.models.listings import DemandListing, SupplyListing
from symbiosis.models.materials import CompatibilityRule, Material, MaterialCategory, Use

__all__ = [
    "CompatibilityRule",
    "DemandListing",
    "EmissionFactor",
    "FactorSet",
    "ListingImport",
    "Material",
    "MaterialCategory",
    "Membership",
    "Organization",
    "Site",
    "SupplyListing",
    "Use",
    "User",
]

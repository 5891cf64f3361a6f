from symbiosis.models.accounts import (
    Invitation,
    Membership,
    Organization,
    SignupRequest,
    Site,
    User,
)
from symbiosis.models.attachments import ListingDocument, ListingPhoto
from symbiosis.models.changes import DataChange
from symbiosis.models.factors import EmissionFactor, FactorSet
from symbiosis.models.imports import ListingImport
from symbiosis.models.listings import DemandListing, FateReview, SupplyListing
from symbiosis.models.materials import CompatibilityRule, Material, MaterialCategory, Use
from symbiosis.models.notifications import Notification
from symbiosis.models.questions import QuestionMessage, QuestionThread
from symbiosis.models.saved_searches import SavedSearch, SavedSearchHit

__all__ = [
    "CompatibilityRule",
    "DataChange",
    "DemandListing",
    "EmissionFactor",
    "FactorSet",
    "FateReview",
    "Invitation",
    "ListingDocument",
    "ListingImport",
    "ListingPhoto",
    "Material",
    "MaterialCategory",
    "Membership",
    "Notification",
    "Organization",
    "QuestionMessage",
    "QuestionThread",
    "SavedSearch",
    "SavedSearchHit",
    "SignupRequest",
    "Site",
    "SupplyListing",
    "Use",
    "User",
]

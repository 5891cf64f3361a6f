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
from symbiosis.models.clearances import ImportedOriginClearance
from symbiosis.models.factors import EmissionFactor, FactorSet
from symbiosis.models.imports import ListingImport
from symbiosis.models.listings import DemandListing, FateReview, SupplyListing
from symbiosis.models.materials import CompatibilityRule, Material, MaterialCategory, Use
from symbiosis.models.notifications import Notification
from symbiosis.models.permits import PermitActivity, PermitStatus, WastePermit
from symbiosis.models.questions import QuestionMessage, QuestionThread
from symbiosis.models.regulation import LegalRule
from symbiosis.models.saved_searches import SavedSearch, SavedSearchHit

__all__ = [
    "CompatibilityRule",
    "DataChange",
    "DemandListing",
    "EmissionFactor",
    "FactorSet",
    "FateReview",
    "ImportedOriginClearance",
    "Invitation",
    "LegalRule",
    "ListingDocument",
    "ListingImport",
    "ListingPhoto",
    "Material",
    "MaterialCategory",
    "Membership",
    "Notification",
    "Organization",
    "PermitActivity",
    "PermitStatus",
    "QuestionMessage",
    "QuestionThread",
    "SavedSearch",
    "SavedSearchHit",
    "SignupRequest",
    "Site",
    "SupplyListing",
    "Use",
    "User",
    "WastePermit",
]

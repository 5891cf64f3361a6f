"""Post-processing of the generated OpenAPI schema (drf-spectacular hooks)."""


def listing_unions_any_of(result, generator, request, public):
    """The listing responses are "any of" full or redacted, not "one of".

    A listing with its owner's fields also fits the redacted shape (which only
    lacks them), so "one of" would reject every full listing.
    """
    schemas = result.get("components", {}).get("schemas", {})
    for name in ("SupplyListing", "DemandListing"):
        component = schemas.get(name)
        if component and "oneOf" in component:
            component["anyOf"] = component.pop("oneOf")
    return result

"""Data versions for cached pages: one row per write that cached figures depend on.

A page that caches what it computed (``symbiosis.data_versions``) keys the cache
by the largest id here per name, read in one query per request. A write inserts
a row in its own transaction, so the new version becomes visible exactly when
the data it stands for does, and writers never wait for each other on a
counter row. Old rows are pruned by ``data_versions.data_changes_prune``.
"""

from django.db import models


class DataChange(models.Model):
    id = models.BigAutoField(primary_key=True)
    # What changed, as the caches name it (``symbiosis.data_versions``).
    name = models.CharField(max_length=20)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["name", "id"], name="datachange_name_id")]

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"

"""Metadata models, present so that the schema and its migration history have
roughly Mathesar's size (the stand-in itself does not use them)."""
from django.db import models

from mathesar.models.base import BaseModel


class TableMetaData(BaseModel):
    database = models.ForeignKey("Database", on_delete=models.CASCADE)
    table_oid = models.PositiveBigIntegerField()
    data_file = models.ForeignKey("DataFile", on_delete=models.SET_NULL, null=True)
    import_verified = models.BooleanField(null=True)
    column_order = models.JSONField(null=True)
    record_summary_template = models.JSONField(null=True)
    mathesar_added_pkey_attnum = models.PositiveIntegerField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["database", "table_oid"], name="unique_table_metadata")]


class ColumnMetaData(BaseModel):
    database = models.ForeignKey("Database", on_delete=models.CASCADE)
    table_oid = models.PositiveBigIntegerField()
    attnum = models.SmallIntegerField()
    bool_input = models.CharField(max_length=16, null=True)
    num_min_frac_digits = models.PositiveIntegerField(null=True)
    num_max_frac_digits = models.PositiveIntegerField(null=True)
    display_width = models.PositiveIntegerField(null=True)
    file_backend = models.CharField(max_length=255, null=True)
    user_display_field = models.CharField(max_length=50, null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["database", "table_oid", "attnum"],
                                               name="unique_column_metadata")]


class Explorations(BaseModel):
    database = models.ForeignKey("Database", on_delete=models.CASCADE)
    name = models.CharField(max_length=128, unique=True)
    base_table_oid = models.PositiveBigIntegerField()
    initial_columns = models.JSONField()
    transformations = models.JSONField(null=True)
    description = models.CharField(max_length=1024, null=True)


class AnalyticsReport(BaseModel):
    installation_id = models.CharField(max_length=64)
    mathesar_version = models.CharField(max_length=32)
    user_count = models.PositiveIntegerField(null=True)
    sso_connected_user_count = models.PositiveIntegerField(null=True)


class InstallationId(BaseModel):
    value = models.UUIDField()


class DownloadLink(BaseModel):
    mash = models.CharField(max_length=64, primary_key=True, editable=False)
    uri = models.CharField(max_length=2048)
    thumbnail = models.JSONField(blank=True, default=dict)

"""Connection models with the names, fields and methods of Mathesar's
`mathesar.models.base` that mathesar-init's SQL upgrade script relies on."""
import os

from django.conf import settings
from django.db import models
from encrypted_fields.fields import EncryptedCharField

from db.connection import mathesar_connection
from db.sql.install import install, uninstall
from mathesar import __version__
from mathesar.models import exceptions


class BaseModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Server(BaseModel):
    """A PostgreSQL server holding user databases."""

    host = models.CharField(max_length=255)
    port = models.IntegerField(null=True, blank=True)
    sslmode = models.CharField(max_length=20, default="prefer",
                               choices=[("disable", "disable"), ("prefer", "prefer"), ("require", "require")])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["host", "port"], condition=models.Q(port__isnull=False),
                                    name="unique_server_host_port_not_null"),
            models.UniqueConstraint(fields=["host"], condition=models.Q(port__isnull=True),
                                    name="unique_server_null_port"),
        ]


class Database(BaseModel):
    """A user database; `last_confirmed_sql_version` is the version of the
    msar SQL last installed into it."""

    name = models.CharField(max_length=128)
    nickname = models.CharField(max_length=255, null=True)
    server = models.ForeignKey("Server", on_delete=models.CASCADE, related_name="databases")
    last_confirmed_sql_version = models.CharField(max_length=32, default="0.0.0")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "server"], name="unique_database")]

    @property
    def needs_upgrade_attention(self):
        return self.last_confirmed_sql_version != __version__

    def install_sql(self, username=None, password=None):
        """(Re-)install the SQL in one transaction, then record the version.
        Without credentials, connects as the stored role that owns `msar`."""
        conn = self.connect_manually(username, password) if username is not None else self.connect_admin()
        with conn:
            install(conn)
        self.last_confirmed_sql_version = __version__
        self.save()

    def uninstall_sql(self, schemas_to_remove=("msar", "__msar", "mathesar_types"), strict=True,
                      role_name=None, password=None):
        conn = self.connect_manually(role_name, password) if role_name and password else self.connect_admin()
        with conn:
            uninstall(conn, schemas_to_remove=list(schemas_to_remove), strict=strict)

    def connect_manually(self, role, password):
        return mathesar_connection(host=self.server.host, port=self.server.port, dbname=self.name, user=role,
                                   password=password, sslmode=self.server.sslmode,
                                   application_name="mathesar.models.base.Database.connect_manually")

    def connect_admin(self):
        """A connection as the role that owns schema `msar`, found through any
        working user connection, with that role's stored password."""
        owner = None
        for role_map in UserDatabaseRoleMap.objects.filter(database=self):
            try:
                with role_map.connection as conn:
                    row = conn.execute("SELECT r.rolname FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner"
                                       " WHERE n.nspname = 'msar'").fetchone()
            except Exception:
                continue
            if row is not None:
                owner = row[0]
                break
        if owner is None:
            raise exceptions.NoConnectionAvailable
        try:
            role = ConfiguredRole.objects.get(name=owner, server=self.server)
        except ConfiguredRole.DoesNotExist:
            raise exceptions.NoAdminConnectionAvailable
        return self.connect_manually(role.name, role.password)


class ConfiguredRole(BaseModel):
    """A role and its password (encrypted with a key derived from SECRET_KEY)."""

    name = models.CharField(max_length=255)
    server = models.ForeignKey("Server", on_delete=models.CASCADE, related_name="roles")
    password = EncryptedCharField(max_length=255, blank=True, null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "server"], name="unique_role")]


class UserDatabaseRoleMap(BaseModel):
    """Which role a Mathesar user connects to a database as."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    database = models.ForeignKey("Database", on_delete=models.CASCADE)
    configured_role = models.ForeignKey("ConfiguredRole", on_delete=models.CASCADE)
    server = models.ForeignKey("Server", on_delete=models.CASCADE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "database"], name="user_one_role_per_database")]

    @property
    def connection(self):
        return mathesar_connection(host=self.server.host, port=self.server.port, dbname=self.database.name,
                                   user=self.configured_role.name, password=self.configured_role.password,
                                   sslmode=self.server.sslmode,
                                   application_name="mathesar.models.base.UserDatabaseRoleMap.connection")


def _data_file_path(instance, filename):
    # MEDIA_ROOT/<username>/<filename>, as Mathesar lays out imports.
    return os.path.join(instance.user.username, filename)


class DataFile(BaseModel):
    """An uploaded file (CSV/TSV import), stored under MEDIA_ROOT."""

    file = models.FileField(upload_to=_data_file_path)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created_from = models.CharField(max_length=128, default="FILE")
    type = models.CharField(max_length=128, default="CSV")
    base_name = models.CharField(max_length=100)
    header = models.BooleanField(default=True)
    delimiter = models.CharField(max_length=1, default=",", blank=True)
    escapechar = models.CharField(max_length=1, blank=True)
    quotechar = models.CharField(max_length=1, default='"', blank=True)

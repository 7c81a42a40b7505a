from mathesar.models.base import (  # noqa: F401
    ConfiguredRole, Database, DataFile, Server, UserDatabaseRoleMap,
)
from mathesar.models.metadata import (  # noqa: F401
    AnalyticsReport, ColumnMetaData, DownloadLink, Explorations, InstallationId, TableMetaData,
)

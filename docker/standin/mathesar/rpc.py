"""A minimal JSON-RPC 2.0 endpoint (`/api/rpc/v0/`) with the database set-up
methods of Mathesar's API, under the same names and named parameters. Every
method requires a logged-in session; CSRF is checked as for any POST."""
import json

import psycopg
from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.http import require_POST
from psycopg import sql

from mathesar.models import ConfiguredRole, Database, Server, UserDatabaseRoleMap


def _internal():
    """The internal server's connection settings, as Django has them."""
    db = settings.DATABASES["default"]
    port = db.get("PORT")
    return {"host": db["HOST"], "port": int(port) if port else None, "dbname": db["NAME"], "user": db["USER"],
            "password": db.get("PASSWORD"), "sslmode": db.get("OPTIONS", {}).get("sslmode", "prefer")}


def _database_info(database):
    return {"id": database.id, "name": database.name, "server_id": database.server_id,
            "last_confirmed_sql_version": database.last_confirmed_sql_version,
            "needs_upgrade_attention": database.needs_upgrade_attention, "nickname": database.nickname}


def _result(role_map):
    server = role_map.server
    return {"server": {"id": server.id, "host": server.host, "port": server.port},
            "database": _database_info(role_map.database),
            "configured_role": {"id": role_map.configured_role.id, "name": role_map.configured_role.name,
                                "server_id": server.id}}


def _connection_models(user, host, port, name, nickname, role, password, sslmode):
    server, _ = Server.objects.update_or_create(host=host, port=port, defaults={"sslmode": sslmode})
    database, _ = Database.objects.get_or_create(name=name, server=server, defaults={"nickname": nickname})
    configured_role, _ = ConfiguredRole.objects.get_or_create(name=role, server=server,
                                                              defaults={"password": password})
    return UserDatabaseRoleMap.objects.get_or_create(user=user, database=database,
                                                     configured_role=configured_role, server=server)[0]


@transaction.atomic
def create_new(request, *, database, nickname=None, sample_data=(), **_):
    """A new database on the internal server, reached as the internal role."""
    internal = _internal()
    if database == internal["dbname"]:
        raise ValueError("Mathesar can't be installed in the internal database.")
    role_map = _connection_models(request.user, internal["host"], internal["port"], database, nickname,
                                  internal["user"], internal["password"], internal["sslmode"])
    with psycopg.connect(**internal, autocommit=True, application_name="Mathesar create_new") as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    role_map.database.install_sql(username=internal["user"], password=internal["password"])
    return _result(role_map)


@transaction.atomic
def connect_existing(request, *, host, database, role, password, port=None, nickname=None, sslmode="prefer",
                     sample_data=(), **_):
    role_map = _connection_models(request.user, host, port, database, nickname, role, password, sslmode)
    role_map.database.install_sql(username=role, password=password)
    return _result(role_map)


def configured_list(request, *, server_id=None, **_):
    databases = Database.objects.all() if server_id is None else Database.objects.filter(server_id=server_id)
    if not request.user.is_superuser:
        databases = databases.filter(userdatabaserolemap__user=request.user)
    return [_database_info(d) for d in databases.order_by("id")]


def upgrade_sql(request, *, database_id, username=None, password=None, **_):
    Database.objects.get(id=database_id).install_sql(username=username, password=password)
    return None


METHODS = {
    "databases.setup.create_new": create_new,
    "databases.setup.connect_existing": connect_existing,
    "databases.configured.list": configured_list,
    "databases.upgrade_sql": upgrade_sql,
}


def _error(call_id, code, message, status=200):
    return JsonResponse({"jsonrpc": "2.0", "id": call_id, "error": {"code": code, "message": message}}, status=status)


@require_POST
def endpoint(request):
    try:
        call = json.loads(request.body)
        call_id, method, params = call.get("id"), call["method"], call.get("params") or {}
    except (ValueError, KeyError, AttributeError):
        return _error(None, -32700, "not a JSON-RPC 2.0 call", status=400)
    if not request.user.is_authenticated:
        return _error(call_id, -32000, "login required", status=403)
    function = METHODS.get(method)
    if function is None:
        return _error(call_id, -32601, f"unknown method {method!r}")
    if not isinstance(params, dict):
        return _error(call_id, -32602, "params must be an object of named parameters")
    try:
        result = function(request, **params)
    except Exception as e:  # reported to the caller, as Mathesar's RPC layer does
        return _error(call_id, -32603, f"{type(e).__name__}: {e}")
    return JsonResponse({"jsonrpc": "2.0", "id": call_id, "result": result})

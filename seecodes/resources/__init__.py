"""HTTP resources: one flask-smorest blueprint per OpenAPI tag, each with its schemas beside it."""
from flask import Blueprint as FlaskBlueprint, send_from_directory
from werkzeug.routing import BaseConverter


class RunIdConverter(BaseConverter):
    """`run_` and 24 hex digits: GET /v1/tasks/init or /v1/tasks/context never match /v1/tasks/<runId>."""

    regex = r"run_[0-9a-f]{24}"


def _run_id_schema(_converter) -> dict:
    from .openapi_doc import RUN_ID_PATTERN

    return {"type": "string", "pattern": RUN_ID_PATTERN}


def register(app, api):
    from . import instances, models, openapi_doc, security, system, tasks, telemetry
    from .storage_urls import blp as storage_blp

    app.url_map.converters["run_id"] = RunIdConverter
    api.flask_plugin.register_converter(RunIdConverter, _run_id_schema)  # per app: api.spec is rebuilt by init_app
    for package in (system, security, instances, tasks, telemetry, models):
        api.register_blueprint(package.blp)
    system.document_spec_route(app, api)
    api.document_finishers[:] = [lambda document: openapi_doc.finish(document, app.config.get("SEECODES_PUBLIC_BASE_URL"))]
    app.cli.add_command(openapi_doc.cli)  # replaces flask-smorest's group: its print skips the finishing pass
    app.register_blueprint(storage_blp)  # signed upload/download URLs: not part of the public contract
    app.register_blueprint(system.routes.operations)  # GET /readyz: operational, not part of the contract
    app.register_blueprint(_swagger_assets())


def _swagger_assets() -> FlaskBlueprint:
    """Swagger UI's files, served by the app itself so /docs works with no internet."""
    from swagger_ui_bundle import swagger_ui_path

    assets = FlaskBlueprint("swagger_assets", __name__)

    @assets.route("/docs/assets/<path:filename>")
    def swagger_asset(filename):
        return send_from_directory(str(swagger_ui_path), filename, max_age=3600)

    return assets

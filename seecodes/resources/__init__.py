"""HTTP resources: one flask-smorest blueprint per OpenAPI tag, each with its schemas beside it."""
from flask import Blueprint as FlaskBlueprint, send_from_directory


def register(app, api):
    from . import instances, models, security, system, tasks, telemetry
    from ..storage.routes import blp as storage_blp

    for package in (system, security, instances, tasks, telemetry, models):
        api.register_blueprint(package.blp)
    system.document_spec_route(app, api)
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

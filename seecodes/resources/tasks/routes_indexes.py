"""POST /v1/projects/{projectId}/indexes/query and /upsert."""
from flask.views import MethodView

from ...apidoc import raises
from ...auth.guards import PERMIT_BINDING_ERRORS, task_permit
from ...indexes import service as indexes
from ...permits.service import require_binding
from .blueprint import blp
from .schemas_indexes import (IndexQueryAnswerSchema, IndexQueryBodySchema, IndexUpsertAnswerSchema,
                              IndexUpsertBodySchema)


@blp.route("/v1/projects/<string:projectId>/indexes/query")
class ProjectIndexQuery(MethodView):
    @task_permit
    @blp.arguments(IndexQueryBodySchema)
    @blp.response(200, IndexQueryAnswerSchema)
    @raises({**PERMIT_BINDING_ERRORS, 413: ["answer_too_large"]})  # over the answer budget: split the items
    def post(self, body, projectId, permit):
        """Query reusable project index entries

        For each path/hash item: the entry at the same path with the same hash (`pathMatched: true`),
        else the entry of the smallest path holding that hash (`pathMatched: false`), else no match.
        The path projectId must be the permit's project (403 otherwise).
        """
        require_binding(permit, project_id=projectId)
        updated_at, matches = indexes.query(permit.installation_pk, projectId,
                                            [(item["path"], item["hash"]) for item in body["items"]])
        return {"ok": True, "updatedAt": updated_at, "matches": matches}


@blp.route("/v1/projects/<string:projectId>/indexes/upsert")
class ProjectIndexUpsert(MethodView):
    @task_permit
    @blp.arguments(IndexUpsertBodySchema)
    @blp.response(200, IndexUpsertAnswerSchema)
    @raises(PERMIT_BINDING_ERRORS)
    def post(self, body, projectId, permit):
        """Upsert reusable project index entries

        Writes entries and removes deletePaths in one transaction (at most 5,000 of each). The path
        projectId must be the permit's project (403 otherwise).
        """
        require_binding(permit, project_id=projectId)
        result = indexes.upsert(permit.installation_pk, projectId, body["entries"], body["deletePaths"])
        return {"ok": True, "updatedAt": result.updated_at, "upserted": result.upserted,
                "deleted": result.deleted, "totalFiles": result.total_files}

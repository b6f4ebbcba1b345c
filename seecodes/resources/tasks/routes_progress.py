"""POST and GET /v1/tasks/{taskId}/progress."""
from flask.views import MethodView

from ... import clock
from ...apidoc import raises
from ...auth.guards import PERMIT_BINDING_ERRORS, permit_or_forge_request_key, task_permit
from ...permits.service import require_binding
from ...progress import service as progress
from .blueprint import blp
from .schemas_progress import ProgressSavedSchema, ProgressAnswerSchema, ProgressDocumentSchema, ProgressQuerySchema


@blp.route("/v1/tasks/<string:taskId>/progress")
class TaskProgress(MethodView):
    @task_permit
    @blp.arguments(ProgressDocumentSchema)
    @blp.response(200, ProgressSavedSchema)
    @raises(PERMIT_BINDING_ERRORS)
    def post(self, body, taskId, permit):
        """Save task progress

        Replaces the issue-level ready / left / risk document of the permit's task. The path taskId
        must be the permit's task (403 otherwise); the project is the permit's.
        """
        require_binding(permit, task_id=taskId)
        progress.save(permit.installation_pk, permit.project_id, taskId, body, permit.user_account_id)
        return {"ok": True}

    @permit_or_forge_request_key
    @blp.arguments(ProgressQuerySchema, location="query")
    @blp.response(200, ProgressAnswerSchema)
    @raises(PERMIT_BINDING_ERRORS)
    def get(self, query, taskId, permit, caller):
        """Read task progress

        The stored progress document, or `progress: null`. With a task permit, projectId and the path
        taskId must be the permit's (403 otherwise); the Jira app reads any task of its installation.
        The bearer decides which credential is checked: a task permit as such (an
        X-SeeCodes-Jira-Request-Key sent beside it is ignored and not consumed), a Forge token together
        with the request key.
        """
        if permit is not None:
            require_binding(permit, project_id=query["projectId"], task_id=taskId)
            installation_pk = permit.installation_pk
        else:
            installation_pk = caller.installation.id
        stored = progress.read(installation_pk, query["projectId"], taskId)
        if stored is None:
            return {"ok": True, "progress": None}
        return {"ok": True, "progress": {**stored.document, "updatedAt": clock.iso(stored.updated_at)}}

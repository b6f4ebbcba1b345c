"""POST /v1/tasks/activity-snapshot."""
from flask.views import MethodView

from ... import clock
from ...activity import service as activity
from ...apidoc import raises
from ...auth.guards import PERMIT_BINDING_ERRORS, task_permit
from ...permits.service import require_binding
from .blueprint import blp
from .schemas_activity import ActivitySnapshotAnswerSchema, ActivitySnapshotBodySchema


@blp.route("/v1/tasks/activity-snapshot")
class ActivitySnapshot(MethodView):
    @task_permit
    @blp.arguments(ActivitySnapshotBodySchema)
    @blp.response(200, ActivitySnapshotAnswerSchema)
    @raises(PERMIT_BINDING_ERRORS)
    def post(self, body, permit):
        """Save task activity snapshot

        Stores one activity window against the permit's project, task and user (a projectId/taskId in
        the body naming another task is refused with 403), scored by effort
        formula v1. The same task, user and window sent again is not stored again (`stored: false`,
        with the stored snapshot's timestamp and effortUnits).
        """
        require_binding(permit, project_id=body.get("projectId"), task_id=body.get("taskId"))
        result = activity.record(permit, body)
        return {"ok": True, "stored": result.stored, "timestamp": clock.iso(result.timestamp, micro=True),
                "effortUnits": result.effort_units}

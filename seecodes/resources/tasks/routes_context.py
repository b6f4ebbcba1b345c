"""GET /v1/tasks/context."""
from flask.views import MethodView

from ...apidoc import raises
from ...auth.guards import task_permit
from ...task_context import service as task_context
from .blueprint import blp
from .schemas_context import TaskContextSchema


@blp.route("/v1/tasks/context")
class TaskContext(MethodView):
    @task_permit
    @blp.response(200, TaskContextSchema)
    @raises({404: ["Context not found"]})  # nothing stored for the task (the contract's own code)
    def get(self, permit):
        """Read stored task context

        The Jira task context and initial editor payload for the permit's own project/task.
        """
        row = task_context.read(permit.installation_pk, permit.project_id, permit.task_id)
        return {"ok": True, "context": row.context, "initialTai": row.initial_tai}

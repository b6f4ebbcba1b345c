"""Imports every model module so the metadata (and Alembic) sees the whole schema."""
from .audit import models as audit_models  # noqa: F401
from .catalog import models as catalog_models  # noqa: F401
from .credits import models as credits_models  # noqa: F401
from .installations import models as installations_models  # noqa: F401
from .launch_codes import models as launch_codes_models  # noqa: F401
from .permits import models as permits_models  # noqa: F401
from .request_keys import models as request_keys_models  # noqa: F401
from .task_context import models as task_context_models  # noqa: F401
from .runs import models as runs_models  # noqa: F401
from .progress import models as progress_models  # noqa: F401
from .activity import models as activity_models  # noqa: F401
from .metrics import models as metrics_models  # noqa: F401
from .indexes import models as indexes_models  # noqa: F401
from .idempotency import models as idempotency_models  # noqa: F401
from . import ratelimit as ratelimit_models  # noqa: F401
from . import retention  # noqa: F401  (the indexes that retention pruning reads by)

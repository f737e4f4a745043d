"""Jobs, schedules and sensors of the code location."""

from vex_dagster.jobs.inbox import INBOX_TARGET, inbox_import_job
from vex_dagster.jobs.migration import migration_job, migration_schedule
from vex_dagster.jobs.parallel import parallel_job
from vex_dagster.jobs.sensors import discovery_sensor, inbox_sensor

__all__ = [
    "INBOX_TARGET", "discovery_sensor", "inbox_import_job", "inbox_sensor", "migration_job",
    "migration_schedule", "parallel_job",
]

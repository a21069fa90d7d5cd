"""Background work that survives restarts and runs once across workers and replicas: a jobs
table with leases (`JobQueue`) and the runner each worker process starts (`JobRunner`)."""

from ogx.jobs.queue import Handler, Job, JobQueue, JobStatus, PermanentJobError
from ogx.jobs.runner import JobRunner

__all__ = ["Handler", "Job", "JobQueue", "JobRunner", "JobStatus", "PermanentJobError"]

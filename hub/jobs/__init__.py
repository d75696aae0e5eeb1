"""Background work behind one small interface.

Packages register job functions with `@job`; callers `await enqueue("name", key=..., at=..., **kwargs)`.
The embedded default runs jobs on the web process's own event loop; with REDIS_URL set, jobs go to a SAQ
queue that `hub worker` processes consume. Jobs must be idempotent: anything that must not be lost is
stored in the database first (the outbox), and a sweep re-enqueues it after a crash.
"""

from hub.jobs.registry import JobSpec, enqueue, get_queue, job, registered_jobs, set_queue, sweeper, sweepers

__all__ = ["JobSpec", "enqueue", "get_queue", "job", "registered_jobs", "set_queue", "sweeper", "sweepers"]

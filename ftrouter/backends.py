"""The Backend contract and the registry that finds backends by name.

Built-in backends live in their own plugin distributions (``providers/<name>``) so the core never
imports a provider SDK or torch. Names resolve lazily: ``get_backend("vertex")`` imports
``ftrouter_vertex`` only then, and says how to install it when it is missing. Third-party backends
register under the ``ftrouter.backends`` entry-point group::

    [project.entry-points."ftrouter.backends"]
    together = "ftrouter_together:TogetherBackend"
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from ftrouter.errors import NotSupported, PluginMissing, UnknownName
from ftrouter.jobs.models import (
    JobEvent,
    JobSpec,
    JobStatus,
    PreparedJob,
    Refresh,
    RemoteRef,
)
from ftrouter.plugins import Builtin, PluginGroup

ENTRY_POINT_GROUP = "ftrouter.backends"


class Backend(ABC):
    """One fine-tuning system behind the common interface.

    ``prepare`` has no side effects beyond writing converted files under the job's local folder; it
    is all that ``submit --dry-run`` runs. ``submit`` is the only method that creates remote state.
    Adapters translate every provider exception into ``ftrouter.errors`` types.
    """

    name: ClassVar[str]
    # True when ``submit`` raises ``SubmitUnconfirmed`` whenever the job may exist remotely (its create
    # goes through ``ftrouter.http.create_once``): any other error then proves nothing was created, and
    # the service marks the job failed without asking the backend again. Otherwise the service looks
    # the job up by its local id after a failed submit.
    confirms_creates: ClassVar[bool] = False

    @abstractmethod
    def prepare(self, spec: JobSpec, local_id: str) -> PreparedJob:
        """Validate and convert the data for this backend, estimate cost, plan the requests."""

    @abstractmethod
    def submit(self, prepared: PreparedJob) -> RemoteRef:
        """Upload and create the job. The local id must travel with the remote job."""

    @abstractmethod
    def status(self, ref: RemoteRef) -> JobStatus: ...

    @abstractmethod
    def events(self, ref: RemoteRef, after: str | None = None) -> list[JobEvent]:
        """The job's events after the one with id ``after`` (all when None), oldest first."""

    def refresh(self, ref: RemoteRef, after: str | None = None) -> Refresh:
        """The job's status and its events after ``after``: all that the core asks when it refreshes a job
        (``status``, ``jobs``, ``--watch``, the serve poller). This default asks ``status`` then ``events``
        (in that order: a status read may itself add an event); a backend whose provider answers both in
        one response overrides it to ask once."""
        status = self.status(ref)
        return Refresh(status=status, events=self.events(ref, after=after))

    @abstractmethod
    def cancel(self, ref: RemoteRef) -> JobStatus: ...

    def pause(self, ref: RemoteRef) -> JobStatus:
        """Pause a running job; backends whose provider can pause override this."""
        raise NotSupported(f"the {self.name} backend cannot pause jobs")

    def resume(self, ref: RemoteRef) -> JobStatus:
        """Resume a paused (or, for some backends, ended) job; overridden where the provider can."""
        raise NotSupported(f"the {self.name} backend cannot resume jobs")

    def find_by_local_id(self, local_id: str) -> RemoteRef | None:
        """Find a remote job created for ``local_id`` (crash reconciliation). Backends that can tag
        their jobs override this; the default cannot find anything."""
        return None


# The one place the core lists the built-in plugins (name -> adapter target, install hint), so that a
# missing one is named with how to install it; everything else about a backend is in its plugin's
# profile (ftrouter.profiles) and catalog.yaml. tests/test_backend_boundary.py allows names only here.
BUILTIN_BACKENDS: dict[str, Builtin] = {
    "openai": Builtin("ftrouter_openai:OpenAIBackend", "pip install -e providers/openai"),
    "vertex": Builtin("ftrouter_vertex:VertexBackend", "pip install -e providers/vertex"),
    "local": Builtin("ftrouter_local:LocalBackend", "pip install -e providers/local"),
}
BACKENDS = PluginGroup(ENTRY_POINT_GROUP, BUILTIN_BACKENDS)


def backend_names() -> list[str]:
    """Every name that ``get_backend`` accepts (built-in or registered), sorted."""
    return BACKENDS.names()


def load_backend_class(name: str) -> type[Backend]:
    """Import the class behind ``name`` without instantiating it."""
    cls = BACKENDS.load(name, f"the {name!r} backend")
    if cls is None:
        raise UnknownName("backend", name, backend_names())
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise PluginMissing(f"{BACKENDS.targets()[name]} is not an ftrouter Backend")
    return cls


def get_backend(name: str, **config: Any) -> Backend:
    """Instantiate the backend called ``name`` with backend-specific ``config``."""
    return load_backend_class(name)(**config)

"""Moving fine-tunes off a provider that is closing: deadlines (``deadlines``), the import of existing
jobs (``ftrouter.jobs.imports`` with the provider's importer), and the plan that rebuilds a job on
another backend (``plan``)."""

"""Facts about a local training run that the core (estimates, data inspection) and the local trainer
(``providers/local``) must agree on. The core cannot import the plugin, so the plugin imports these.
"""

from __future__ import annotations

# The local trainer's training length (tokens per example) when neither a recipe nor --max-length sets
# one: TRL's own SFTConfig default.
DEFAULT_MAX_LENGTH = 1024

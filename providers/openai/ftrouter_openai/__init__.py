"""ftrouter's OpenAI backend: validate and convert data for OpenAI, upload it, create supervised or DPO
fine-tuning jobs, and follow them (status, events, checkpoints, cancel, pause, resume).

The ``openai`` SDK is imported only when a remote call is made, so ``submit --dry-run`` needs neither
a key nor the SDK's import time.
"""

from ftrouter_openai.backend import OpenAIBackend

__all__ = ["OpenAIBackend"]

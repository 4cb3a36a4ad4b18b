"""ftrouter: decide how to adapt a language model to a task, price it, and run the fine-tuning job."""

__version__ = "0.1.0"

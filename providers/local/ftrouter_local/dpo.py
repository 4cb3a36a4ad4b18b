"""Direct preference optimisation with TRL's ``DPOTrainer`` (``submit --backend local --method dpo``).

The same worker, status files, cancel and resume as supervised runs: ``training.train`` builds this
trainer instead of the SFTTrainer and everything around it (progress callback, checkpoints, the
cancel flag, the final save and summary) is shared.

The two DPO-specific choices, both TRL 1.16's own behaviour, made explicit here:

- ``beta`` (``--beta``, default 0.1 = TRL's default) weighs the KL penalty that keeps the trained
  policy near the reference model: a higher beta stays closer to the reference. OpenAI's DPO ``beta``
  means the same thing, so a migrated job carries its value unchanged.
- The reference model. With a LoRA/QLoRA adapter no second model is loaded: the reference
  log-probabilities are the base model's, computed by running the same model with the adapter
  disabled (``ref_model=None`` + a PEFT model). With full fine-tuning the policy's own weights change,
  so TRL loads a second, frozen copy of the base model as the reference (``ref_model=None`` + no PEFT:
  ``create_model_from_path`` with the same ``model_init_kwargs``) — full DPO needs memory for two
  models' weights (the reference has no gradients or optimizer state).
"""

from __future__ import annotations

from typing import Any

from ftrouter_local.config import TrainConfig
from ftrouter_local.jobfiles import JobFiles


def reference_model_note(config: TrainConfig) -> str:
    if config.adapter == "full":
        return "reference: a frozen copy of the base model (full fine-tuning changes the policy's own weights)"
    return "reference: the base model with the adapter disabled (no second copy in memory)"


def dpo_config(config: TrainConfig, files: JobFiles, precision: Any, *, has_eval: bool,
               rope_parameters: dict[str, Any] | None = None) -> Any:
    from trl import DPOConfig

    from ftrouter_local.training import trainer_arguments

    arguments = trainer_arguments(config, files, precision, has_eval=has_eval, rope_parameters=rope_parameters)
    return DPOConfig(**arguments, beta=config.beta)


def dpo_trainer(config: TrainConfig, files: JobFiles, precision: Any, tokenizer: Any, train_set: Any,
                eval_set: Any, callback: Any, writer: Any, *, rope_parameters: dict[str, Any] | None = None) -> Any:
    """A DPOTrainer for the job; ``ref_model`` is left to TRL as described in the module docstring."""
    from trl import DPOTrainer

    from ftrouter_local.training import peft_config, quantization_config

    writer.event(f"DPO with beta {config.beta:g}; {reference_model_note(config)}",
                 data={"beta": config.beta, "reference": "base_adapter_disabled" if config.adapter != "full"
                       else "frozen_copy"})
    return DPOTrainer(model=config.model, ref_model=None,
                      args=dpo_config(config, files, precision, has_eval=eval_set is not None,
                                      rope_parameters=rope_parameters),
                      train_dataset=train_set, eval_dataset=eval_set, processing_class=tokenizer,
                      peft_config=peft_config(config), quantization_config=quantization_config(config, precision),
                      callbacks=[callback])

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


def dpo_config(config: TrainConfig, files: JobFiles, precision: Any, *, has_eval: bool) -> Any:
    from trl import DPOConfig

    from ftrouter_local.training import model_init_kwargs, tensorboard_available

    return DPOConfig(
        output_dir=str(files.checkpoints),
        beta=config.beta,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        learning_rate=config.resolved_learning_rate,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        max_length=config.max_length,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_steps=config.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=config.weight_decay,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        eval_strategy="steps" if has_eval else "no",
        eval_steps=config.eval_steps or config.save_steps,
        seed=config.seed,
        bf16=precision.bf16,
        fp16=precision.fp16,
        use_cpu=precision.device == "cpu",
        activation_checkpointing=config.activation_checkpointing,
        model_init_kwargs=model_init_kwargs(config, precision),
        trust_remote_code=config.trust_remote_code,
        include_num_input_tokens_seen="non_padding",
        report_to=["tensorboard"] if config.tensorboard and tensorboard_available() else "none",
        disable_tqdm=True,
    )


def dpo_trainer(config: TrainConfig, files: JobFiles, precision: Any, tokenizer: Any, train_set: Any,
                eval_set: Any, callback: Any, writer: Any) -> Any:
    """A DPOTrainer for the job; ``ref_model`` is left to TRL as described in the module docstring."""
    from trl import DPOTrainer

    from ftrouter_local.training import peft_config, quantization_config

    writer.event(f"DPO with beta {config.beta:g}; {reference_model_note(config)}",
                 data={"beta": config.beta, "reference": "base_adapter_disabled" if config.adapter != "full"
                       else "frozen_copy"})
    return DPOTrainer(model=config.model, ref_model=None,
                      args=dpo_config(config, files, precision, has_eval=eval_set is not None),
                      train_dataset=train_set, eval_dataset=eval_set, processing_class=tokenizer,
                      peft_config=peft_config(config), quantization_config=quantization_config(config, precision),
                      callbacks=[callback])

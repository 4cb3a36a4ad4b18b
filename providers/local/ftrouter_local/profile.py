"""What the core knows about the local backend (``ftrouter.profiles``). Light: no torch import."""

from ftrouter.profiles import BackendProfile, MigrationTarget

# TRL's documented advice: LoRA wants about 10x the full fine-tuning learning rate.
DEFAULT_LR = {"lora": 2e-4, "qlora": 2e-4, "full": 2e-5}
# DPO: TRL's DPOConfig default (1e-6) for full fine-tuning, and the same 10x for an adapter.
DEFAULT_DPO_LR = {"lora": 1e-5, "qlora": 1e-5, "full": 1e-6}
DEFAULT_BATCH_SIZE = 4  # per device (per process); a larger batch accumulates gradients

PROFILE = BackendProfile(
    name="local",
    methods=("sft", "dpo"),  # TRL's SFTTrainer and DPOTrainer
    managed=False,  # estimated by the local planner (GPU memory, time, $/hour), not per token
    token_counter="tiktoken-proxy",  # o200k_base stands in for the open model's tokenizer
    model_family="open",
    tie_rank=0,  # among equal scores, advice lists owned weights first
    labelled_tasks=True,  # encoder classifiers and embedding models (ftrouter_local.classifier, .embedding)
    migration=MigrationTarget(
        batch="per-device", per_device_batch=DEFAULT_BATCH_SIZE,
        learning_rates={"sft": DEFAULT_LR, "dpo": DEFAULT_DPO_LR},
        learning_rate_sources={
            "sft": "TRL's SFT default 2e-5 for full fine-tuning, 10x for an adapter (LoRA Without Regret)",
            "dpo": "TRL's DPOConfig default 1e-6 for full fine-tuning, 10x for an adapter"},
        takes_seed=True,
        suggests_model=True,  # the catalog's open instruct model closest in size that fits the GPUs
    ),
    install_hint="pip install -e providers/local",
)

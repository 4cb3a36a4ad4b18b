"""What the core knows about the local backend (``ftrouter.profiles``). Light: no torch import."""

from ftrouter.profiles import BackendProfile

PROFILE = BackendProfile(
    name="local",
    methods=("sft", "dpo"),  # TRL's SFTTrainer and DPOTrainer
    managed=False,  # estimated by the local planner (GPU memory, time, $/hour), not per token
    token_counter="tiktoken-proxy",  # o200k_base stands in for the open model's tokenizer
    model_family="open",
    install_hint="pip install -e providers/local",
)

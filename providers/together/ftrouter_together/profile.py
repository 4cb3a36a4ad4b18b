"""What the core knows about the Together backend (``ftrouter.profiles``). Light: no httpx import.
Its models, limits and price notes are the rows of ``catalog.yaml`` beside this file."""

from ftrouter.profiles import BackendProfile

KEY_ENV = "TOGETHER_API_KEY"
BASE_URL_ENV = "TOGETHER_BASE_URL"

PROFILE = BackendProfile(
    name="together",
    methods=("sft", "dpo"),  # both with LoRA (the default) or full training (docs.together.ai lora-vs-full)
    token_counter="tiktoken-proxy",  # open models: o200k_base stands in for each model's tokenizer
    credentials=(KEY_ENV,),
    model_family="open",  # open-weight models; the trained weights can be downloaded
    default_epochs=1,  # POST /fine-tunes: n_epochs defaults to 1
    epochs_rule="Together's default n_epochs (1)",
    install_hint="pip install -e providers/together",
)

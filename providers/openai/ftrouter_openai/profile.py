"""What the core knows about the OpenAI backend (``ftrouter.profiles``). Light: no SDK import."""

from ftrouter.profiles import BackendProfile

PROFILE = BackendProfile(
    name="openai",
    methods=("sft", "dpo"),
    token_counter="tiktoken",  # the model's own encoding: exact counts
    credentials=("OPENAI_API_KEY",),
    model_family="openai",
    tie_rank=20,
    migration_source=True,  # `ftrouter migrate` rebuilds its (imported) fine-tunes on another backend
    auto_epochs="target-3",  # n_epochs "auto": target 3, examples x epochs in 100..25,000
    service_deadline=True,  # self-serve fine-tuning winds down (catalog: training_available_until, shutdown_date)
    install_hint="pip install -e providers/openai",
)

"""What the core knows about the Vertex AI backend (``ftrouter.profiles``). Light: no Google import."""

from ftrouter.profiles import BackendProfile, MigrationTarget

PROFILE = BackendProfile(
    name="vertex",
    methods=("sft",),  # Gemini supervised tuning; Vertex preference tuning is not wired in
    token_counter="gemini",  # no public offline tokenizer: the data engine's estimate, with its band
    # Vertex rejects these outright, where OpenAI truncates or skips
    severities={"too_long": "error", "last_not_assistant": "error"},
    data_check="gemini",
    credentials=("GOOGLE_APPLICATION_CREDENTIALS",),  # or gcloud's application-default credentials
    model_family="gemini",
    tie_rank=10,
    migration=MigrationTarget(
        batch=None, batch_note="Vertex tuning has no batch-size setting; Google chooses it",
        learning_rate_note="and Vertex's learningRateMultiplier scale different, unpublished base rates; Vertex's "
        "default (1.0, Google's recommended rate for the model) is kept rather than an unrelated factor",
        suggests_model=True,  # the catalog's default tunable Gemini model
    ),
    install_hint="pip install -e providers/vertex",
)

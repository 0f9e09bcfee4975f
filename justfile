# Developer recipes. `just --list` shows them.

# Run every test (the command CI runs).
test:
    cargo test --workspace

# Formatting and lints, as CI (.ci/run) checks them before the tests; the lints are set in [workspace.lints].
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Python environment for the fixture and reference scripts (transformers, torch).
pyenv:
    python3 -m venv target/pyenv
    target/pyenv/bin/pip install -q torch transformers numpy soundfile soxr mutagen av

# Regenerate the small CLAP checkpoint, its goldens and the decoder fixtures (needs `just pyenv`).
fixtures:
    target/pyenv/bin/python scripts/make_test_model.py tiny
    target/pyenv/bin/python assets/test/make_fixtures.py

# The full-size random checkpoint for benchmarks (not committed; ~600 MB in target/).
full-model:
    test -f target/clap-full-random/model.safetensors || target/pyenv/bin/python scripts/make_test_model.py full

# Model speed against transformers/PyTorch (2 threads), alternated in one run; prints a Markdown table.
bench-model: full-model
    target/pyenv/bin/python scripts/bench_model.py target/clap-full-random --rounds 3

# Indexing speed: `hark index` against the bare model (full-size model), and a no-change rerun over 10,000 files.
bench-index: full-model
    cargo bench -p hark-indexer --bench index -- throughput {{justfile_directory()}}/target/clap-full-random 24 5
    cargo bench -p hark-indexer --bench index -- rerun 10000

# Peak memory of `hark index` with a two-hour 96 kHz stereo file, against the model alone.
bench-index-memory: full-model
    cargo build --release
    scripts/bench_index_memory.sh target/clap-full-random
